"""Attachment downloads: the only way a return's private files leave the server."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from verification.models import ProvincialReturn


@require_safe
@login_required
def attachment_download(request, return_pk: int, pk: int):
    """Stream an attachment to a user who may see its return; 404 for anyone else."""
    provincial_return = get_object_or_404(
        ProvincialReturn.objects.for_user(request.user), pk=return_pk
    )
    attachment = get_object_or_404(provincial_return.attachments, pk=pk)
    if not request.user.has_perm("verification.view_returnattachment"):
        raise PermissionDenied
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, no_store=True)
    return response
