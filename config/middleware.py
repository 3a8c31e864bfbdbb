"""Middleware of the whole site."""

from django.conf import settings
from django.utils.cache import patch_cache_control


def private_pages(get_response):
    """Ask browsers and proxies not to store any response to a signed-in user.

    Those pages show register data and Attachment 2's mobile numbers and e-mail addresses, which
    must not outlive the session in a shared computer's cache or a proxy. Directives a view set
    are kept (the admin's no-cache, must-revalidate, max-age=0); a "public" gives way to
    "private". Anonymous responses, such as the login page, are left to their views; static
    files never get here (WhiteNoise answers them first) and keep their own caching.
    """

    def middleware(request):
        response = get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware


def permissions_policy(get_response):
    """Turn off, in the Permissions-Policy header, the browser features the register never uses.

    A feature listed with an empty allow-list is refused to the page and to any frame in it, so
    an injected script or frame cannot ask for the camera, the location or a payment.
    """
    header = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DISABLED)

    def middleware(request):
        response = get_response(request)
        if header:
            response.setdefault("Permissions-Policy", header)
        return response

    return middleware
