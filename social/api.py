"""``/api/v1/markets/{id}/comments/`` (list, post) and ``/api/v1/comments/{id}/`` (edit, delete, and
staff hide)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from market.models import Market
from market.sanitize import markdown_to_html
from social import selectors, services
from social.exceptions import CommentThrottled, SocialError
from social.models import BODY_MAX_LENGTH, Comment


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    body = serializers.SerializerMethodField()
    body_html = serializers.SerializerMethodField()
    deleted = serializers.BooleanField(source="is_deleted", read_only=True)
    hidden = serializers.BooleanField(source="is_hidden", read_only=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "market",
            "parent",
            "author",
            "body",
            "body_html",
            "forecast_probability",
            "created_at",
            "edited_at",
            "deleted",
            "hidden",
            "hidden_reason",
        ]

    def _visible_body(self, obj: Comment) -> str:
        request = self.context.get("request")
        if obj.is_hidden and not (request and request.user.is_staff):
            return ""
        return obj.body

    def get_body(self, obj: Comment) -> str:
        return self._visible_body(obj)

    def get_body_html(self, obj: Comment) -> str:
        return str(markdown_to_html(self._visible_body(obj)))


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=True)
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class HideInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _raise(exc: SocialError) -> None:
    if isinstance(exc, CommentThrottled):
        raise exceptions.Throttled(wait=exc.wait, detail=exc.message)
    if exc.status == 403:
        raise exceptions.PermissionDenied(exc.message)
    raise exceptions.ValidationError({exc.field or "detail": [exc.message]})


class MarketCommentsView(GenericAPIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = CommentSerializer

    @extend_schema(responses={200: CommentSerializer(many=True)}, summary="A market's comments, oldest first")
    def get(self, request: Request, pk: int) -> Response:
        market = get_object_or_404(Market, pk=pk)
        page = self.paginate_queryset(selectors.comments_for_market(market_id=market.pk))
        return self.get_paginated_response(
            CommentSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=CommentInputSerializer,
        responses={201: CommentSerializer},
        summary="Comment on a market (Markdown; `parent` replies to a top-level comment)",
    )
    def post(self, request: Request, pk: int) -> Response:
        market = get_object_or_404(Market, pk=pk)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            comment = services.comment_create(
                author=request.user,
                body=data.validated_data["body"],
                market=market,
                parent_id=data.validated_data.get("parent"),
            )
        except SocialError as exc:
            _raise(exc)
        return Response(
            CommentSerializer(comment, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class CommentDetailView(GenericAPIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = CommentSerializer

    def _get(self, pk: int) -> Comment:
        comment = get_object_or_404(Comment.objects.select_related("author"), pk=pk)
        if comment.proposal_id is not None:  # proposal threads are as private as their proposal
            from proposals.models import Proposal

            proposal = Proposal.objects.filter(pk=comment.proposal_id).first()
            if proposal is None or not selectors.proposal_visible(proposal=proposal, user=self.request.user):
                raise exceptions.NotFound("No comment with this id.")
        return comment

    @extend_schema(responses={200: CommentSerializer}, summary="One comment")
    def get(self, request: Request, pk: int) -> Response:
        return Response(CommentSerializer(self._get(pk), context={"request": request}).data)

    @extend_schema(
        request=CommentInputSerializer,
        responses={200: CommentSerializer},
        summary="Edit your comment (within the edit window)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        comment = self._get(pk)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.comment_edit(comment=comment, user=request.user, body=data.validated_data["body"])
        except SocialError as exc:
            _raise(exc)
        return Response(CommentSerializer(comment, context={"request": request}).data)

    @extend_schema(responses={204: None}, summary="Delete your comment")
    def delete(self, request: Request, pk: int) -> Response:
        comment = self._get(pk)
        try:
            services.comment_delete(comment=comment, user=request.user)
        except SocialError as exc:
            _raise(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentHideView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = HideInputSerializer

    @extend_schema(
        request=HideInputSerializer, responses={200: CommentSerializer}, summary="Staff: hide a comment"
    )
    def post(self, request: Request, pk: int) -> Response:
        comment = get_object_or_404(Comment, pk=pk)
        if not request.user.is_staff:
            raise exceptions.PermissionDenied("Only staff can hide comments.")
        data = HideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.comment_hide(comment=comment, user=request.user, reason=data.validated_data["reason"])
        except SocialError as exc:
            _raise(exc)
        return Response(CommentSerializer(comment, context={"request": request}).data)
