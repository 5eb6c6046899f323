"""Pages of the social app."""

from django.urls import path

from social import views

app_name = "social"
urlpatterns = [
    path("comments/", views.comment_post, name="comment-post"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment-delete"),
    path("comments/<int:pk>/hide/", views.comment_hide, name="comment-hide"),
    path("markets/<int:pk>/follow/", views.follow, name="follow"),
    path("me/notifications/", views.notification_list, name="notifications"),
    path("me/notifications/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("me/notifications/settings/", views.notification_settings, name="notification-settings"),
]
