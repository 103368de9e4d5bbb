from django.urls import path

from .apis import XapiStatementsApi

app_name = "analytics"

urlpatterns = [
    path("xapi/statements", XapiStatementsApi.as_view(), name="xapi-statements"),
]
