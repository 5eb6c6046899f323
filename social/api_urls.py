from django.urls import path

from social import api

urlpatterns = [
    path("markets/<int:pk>/comments/", api.MarketCommentsView.as_view(), name="api-market-comments"),
    path("comments/<int:pk>/", api.CommentDetailView.as_view(), name="api-comment"),
    path("comments/<int:pk>/hide/", api.CommentHideView.as_view(), name="api-comment-hide"),
]
