"""Upload size limits applied while the request body is received, for the apps' upload views.

Django's own upload limits (DATA_UPLOAD_MAX_MEMORY_SIZE) leave files out: without these, a
10 GB upload would be spooled to a temporary file before a form could refuse it.
"""

from collections.abc import Callable
from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.views.decorators.csrf import csrf_exempt, csrf_protect


def megabytes(size: int) -> str:
    """10485760 → "10": a limit in MB as the forms and their refusals word it."""
    return f"{size / (1024 * 1024):.3g}"


class UploadSizeLimit(FileUploadHandler):
    """Drops an uploaded file as soon as it passes the limit, rather than spooling it to disk.

    Put first in ``request.upload_handlers``: the handlers after it (memory, temporary file)
    never receive more than ``max_bytes`` of a file. ``exceeded`` says whether one was dropped,
    so that the form can say why the file is missing.
    """

    def __init__(self, request, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.max_bytes:
            self.exceeded = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file


def limit_upload_size(get_max_bytes: Callable[[], int]):
    """Decorate a function view: files over ``get_max_bytes()`` are dropped while received.

    The handler is ``request.upload_limit``. Upload handlers must be set before anything reads
    request.POST, and the CSRF middleware reads it: so the middleware's check is skipped for
    this view and the same check runs inside, once the handler is in place.
    """

    def decorator(view):
        protected = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def limited(request, *args, **kwargs):
            request.upload_limit = UploadSizeLimit(request, get_max_bytes())
            request.upload_handlers.insert(0, request.upload_limit)
            return protected(request, *args, **kwargs)

        return limited

    return decorator
