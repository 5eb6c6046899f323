"""Proposals move from the market app into their own app, rows and all.

The table stays ``market_proposal`` (``db_table``): this migration only tells Django's state that the
model now belongs here (``SeparateDatabaseAndState``, no SQL), and ``market.0008_delete_proposal``
removes it from the market's state the same way. The content type follows, so admin permissions and
log entries keep pointing at the same rows.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="proposal").exists():
        ContentType.objects.filter(app_label=old, model="proposal").update(app_label=new)


def move_content_type(apps, schema_editor):
    _relabel(apps, "market", "proposals")


def move_content_type_back(apps, schema_editor):
    _relabel(apps, "proposals", "market")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('experiments', '0005_run_forgets_market'),
        ('market', '0008_delete_proposal'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='Proposal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('concept', models.CharField(choices=[('A', 'A. Variance across runs'), ('B', 'B. Sensitivity to small changes'), ('C', 'C. Distinct clusters'), ('D', 'D. Stability of clusters'), ('E', 'E. Predictive power of the mid-training model'), ('F', 'F. Sensitivity to early interventions'), ('G', 'G. Survival of circuits'), ('H', 'H. Closed-form inductive bias')], max_length=1)),
                ('title', models.CharField(max_length=200)),
                ('text', models.TextField(max_length=8000)),
                ('spec', models.JSONField()),
                ('spec_sha256', models.CharField(max_length=64)),
                ('statistic', models.CharField(max_length=64)),
                ('comparator', models.CharField(choices=[('>=', '≥'), ('>', '>'), ('<=', '≤'), ('<', '<')], max_length=2)),
                ('threshold', models.FloatField()),
                ('close_time', models.DateTimeField()),
                ('liquidity', models.FloatField()),
                ('estimated_cost', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('pending', 'pending review'), ('approved', 'approved'), ('rejected', 'rejected')], default='pending', max_length=10)),
                ('rejection_reason', models.TextField(blank=True, default='', max_length=2000)),
                ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('dry_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='experiments.experimentrun')),
                ('market', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='proposal', to='market.market')),
                ('proposer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to=settings.AUTH_USER_MODEL)),
                ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'market_proposal',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['status', 'created_at'], name='proposal_status_time')],
                'constraints': [models.CheckConstraint(condition=models.Q(('concept__in', ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'])), name='proposal_concept_valid'), models.CheckConstraint(condition=models.Q(('comparator__in', ['>=', '>', '<=', '<'])), name='proposal_comparator_valid'), models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'approved', 'rejected'])), name='proposal_status_valid'), models.CheckConstraint(condition=models.Q(('liquidity__gt', 0)), name='proposal_liquidity_positive'), models.CheckConstraint(condition=models.Q(('spec_sha256__regex', '^[0-9a-f]{64}$')), name='proposal_spec_sha256_hex'), models.CheckConstraint(condition=models.Q(models.Q(('market__isnull', False), ('reviewed_at__isnull', False), ('status', 'approved')), models.Q(('market__isnull', True), ('reviewed_at__isnull', False), ('status', 'rejected'), models.Q(('rejection_reason', ''), _negated=True)), models.Q(('market__isnull', True), ('reviewed_at__isnull', True), ('status', 'pending')), _connector='OR'), name='proposal_review_consistent')],
            },
        )], database_operations=[]),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
