from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from ninja import NinjaAPI, Schema


class BareAPI(NinjaAPI):
    def create_response(self, request: HttpRequest, data: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        # The length, as CommonMiddleware (or the check-in's fast route) sets it on the portal: without
        # it gunicorn answers chunked, one write more per response, which would flatter the check-in.
        response = super().create_response(request, data, *args, **kwargs)
        response.headers["Content-Length"] = str(len(response.content))
        return response


api = BareAPI(title="bare", docs_url=None, openapi_url=None)


class PingOut(Schema):
    status: str


@api.get("/ping", response=PingOut, auth=None)
def ping(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


urlpatterns = [path("", api.urls)]
