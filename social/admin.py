from django.contrib import admin

from social.models import Comment, Follow, Notification


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "market", "proposal_id", "created_at", "deleted_at", "hidden_at")
    list_filter = ("hidden_at",)
    raw_id_fields = ("author", "market", "parent", "hidden_by")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "key", "created_at", "read_at", "emailed_at")
    list_filter = ("kind",)
    raw_id_fields = ("user",)


admin.site.register(Follow)
