"""Signing in through the real sign-in form, as a browser does.

Django's ``Client.login()`` calls ``authenticate()`` without a request, which django-axes
refuses (it needs the client's address); posting the form goes through axes like a user.
"""

from django.contrib.auth import SESSION_KEY


def sign_in(client, username, password, **extra) -> bool:
    """Post the admin's sign-in form; True when the client is signed in afterwards."""
    response = client.post("/admin/login/", {"username": username, "password": password}, **extra)
    return response.status_code == 302 and SESSION_KEY in client.session
