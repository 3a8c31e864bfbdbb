"""The attachment upload's size limit: stated by the form, enforced while the body is received."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.test import Client
from django.urls import reverse
from django.utils import translation

from config.uploads import UploadSizeLimit, megabytes
from verification.models import ReturnAttachment, ReturnEventAction
from verification.services import attachment_too_large

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LIMIT = 256 * 1024  # "0.25" MB: four of the upload handlers' 64 KB chunks
CHUNK = FileUploadHandler.chunk_size


class Downstream(FileUploadHandler):
    """Stands before the handler that spools to disk: records the bytes that reach it."""

    received: list[int] = []

    def receive_data_chunk(self, raw_data, start):
        Downstream.received.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.LANGUAGES = [("en", "English")]
    yield
    translation.deactivate()  # the locale middleware leaves the last request's language active


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.RETURN_ATTACHMENT_MAX_BYTES = LIMIT
    # Everything past the limit handler goes through Downstream, then to a temporary file.
    settings.FILE_UPLOAD_HANDLERS = [
        f"{__name__}.Downstream",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    Downstream.received = []


@pytest.fixture
def limit_seen(monkeypatch):
    """Where each chunk the limit handler was given ended, in bytes of the file."""
    ends = []
    receive = UploadSizeLimit.receive_data_chunk

    def spy(self, raw_data, start):
        ends.append(start + len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(UploadSizeLimit, "receive_data_chunk", spy)
    return ends


def upload_url(provincial_return):
    return reverse("verification:attachment_upload", args=[provincial_return.pk])


def detail_url(provincial_return):
    return reverse("verification:return_detail", args=[provincial_return.pk])


def attachment_form(response) -> str:
    return response.content.decode().split('id="attachment-form"')[1].split("</form>")[0]


def refusal_text() -> str:
    refusal = attachment_too_large(LIMIT)
    return str(refusal.message) % refusal.params


def test_the_form_states_the_limit(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    form = attachment_form(client.get(detail_url(shandong_return)))
    assert "The stamped scan, as PDF, JPEG or PNG, at most 0.25 MB." in form
    assert megabytes(LIMIT) == "0.25"


def test_an_upload_over_the_limit_is_dropped_while_received(
    client, shandong_clerk, shandong_return, private_root, limit_seen
):
    client.force_login(shandong_clerk)
    big = SimpleUploadedFile("big.pdf", PDF.ljust(4 * LIMIT), content_type="application/pdf")

    response = client.post(upload_url(shandong_return), {"file": big})

    assert response.status_code == 200
    # The handlers that keep the file in memory or on disk never had more than the limit, and
    # the limit handler stopped at the first chunk past it.
    assert sum(Downstream.received) <= LIMIT
    assert limit_seen
    assert max(limit_seen) <= LIMIT + CHUNK
    assert len(limit_seen) <= LIMIT // CHUNK + 1
    assert response.wsgi_request.upload_limit.exceeded
    assert "file" not in response.wsgi_request.FILES
    form = attachment_form(response)
    assert refusal_text() in form
    assert "0.25 MB" in refusal_text()
    assert "This field is required" not in form
    assert not ReturnAttachment.objects.exists()
    assert not private_root.exists() or not any(private_root.rglob("*"))
    assert not shandong_return.events.filter(action=ReturnEventAction.ATTACHMENT_ADDED).exists()


def test_an_upload_of_exactly_the_limit_is_attached(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    scan = SimpleUploadedFile("scan.pdf", PDF.ljust(LIMIT), content_type="application/pdf")

    response = client.post(upload_url(shandong_return), {"file": scan})

    assert response.status_code == 302
    assert not response.wsgi_request.upload_limit.exceeded
    assert shandong_return.attachments.get().size == LIMIT


def test_the_upload_still_needs_the_csrf_token(shandong_clerk, shandong_return):
    # The view installs its size limit before the CSRF check reads the body, so it runs that
    # check itself instead of the middleware: make sure it does.
    client = Client(enforce_csrf_checks=True)
    client.force_login(shandong_clerk)
    scan = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")

    assert client.post(upload_url(shandong_return), {"file": scan}).status_code == 403
    assert not ReturnAttachment.objects.exists()

    page = client.get(detail_url(shandong_return)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    scan.seek(0)
    response = client.post(
        upload_url(shandong_return), {"file": scan, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert shandong_return.attachments.get().original_name == "scan.pdf"


def test_the_upload_view_takes_only_posts(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    assert client.get(upload_url(shandong_return)).status_code == 405
