from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers.selectors import memberships_for_user


def home(request: HttpRequest) -> HttpResponse:
    memberships = memberships_for_user(request.user) if request.user.is_authenticated else []
    return render(request, "portal/home.html", {"memberships": memberships})
