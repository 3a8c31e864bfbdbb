"""A real spreadsheet program opens the exports: LibreOffice converts Attachments 1 and 2 to PDF.

Debian's ``libreoffice-calc`` runs headless with a throwaway profile; ``pdftotext``
(poppler-utils) reads the headings back. The PDFs and a PNG of each page of the demo's returns
are kept under test-artifacts/exports/ for a human to look at. Without LibreOffice the test is
skipped with a message, except where ``REQUIRE_LIBREOFFICE`` is set (CI sets it), where a
missing LibreOffice, or pdftotext, is a failure.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.urls import reverse

from verification.demo import seed_returns
from verification.models import Campaign

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "exports"
MISSING = "LibreOffice is not installed: apt-get install --no-install-recommends libreoffice-calc"
MISSING_PDFTOTEXT = "pdftotext is not installed: apt-get install poppler-utils"
# Generous for a loaded CI machine: the first start of a fresh profile takes a few seconds.
TIMEOUT_SECONDS = 180


def libreoffice_required() -> bool:
    return os.environ.get("REQUIRE_LIBREOFFICE", "").strip().lower() in {"1", "true", "yes", "on"}


def _tool(name: str, missing: str) -> str | None:
    """The program's path; None (the test skips) without it, or a failure where required."""
    path = shutil.which(name)
    if path is None and libreoffice_required():
        pytest.fail(f"{missing} (REQUIRE_LIBREOFFICE is set, so this is a failure)")
    return path


@pytest.fixture
def soffice():
    path = _tool("soffice", MISSING)
    if path is None:
        pytest.skip(MISSING)
    return path


def convert_to_pdf(soffice: str, files: list[Path], out: Path, profile: Path) -> float:
    """Convert ``files`` to PDF in ``out`` with one headless LibreOffice; the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        env={**os.environ, "HOME": str(profile)},
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return time.monotonic() - started


def _text(pdf: Path) -> str | None:
    pdftotext = _tool("pdftotext", MISSING_PDFTOTEXT)
    if pdftotext is None:
        return None
    result = subprocess.run(  # noqa: S603
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def _keep_pages_as_png(pdf: Path):
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return
    for old in ARTIFACTS.glob(f"{pdf.stem}-*.png"):
        old.unlink()
    subprocess.run(  # noqa: S603
        [pdftoppm, "-png", "-r", "60", str(pdf), str(ARTIFACTS / pdf.stem)], check=True
    )


def test_libreoffice_prints_attachments_1_and_2(
    client, soffice, tmp_path, shandong_admin, reviewer
):
    # The demo's returns: ten units in every state of the workflow, the other 22 not started.
    seed_returns(administrators={"37": shandong_admin}, editors={}, reviewer=reviewer)
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    client.force_login(reviewer)
    sources = tmp_path / "xlsx"
    sources.mkdir()
    files = []
    for name in ("attachment1", "attachment2"):
        response = client.get(reverse(f"reports:{name}_xlsx", args=[campaign.pk]))
        assert response.status_code == 200
        path = sources / f"{name}.xlsx"
        path.write_bytes(response.content)
        files.append(path)

    out = tmp_path / "pdf"
    seconds = convert_to_pdf(soffice, files, out, tmp_path / "profile")
    print(f"LibreOffice converted {len(files)} files to PDF in {seconds:.1f} s")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = {
        "attachment1": [
            "附件1",
            "重点管理的计量器具型式批准和制造许可情况调查表",
            "报送单位",
            "省份",
            "许可工作情况",
            "行政审批制度改革情况",
            "北京市",
            "新疆生产建设兵团",
        ],
        "attachment2": [
            "附件2",
            "计量器具许可证管理系统省局系统管理员信息表",
            "姓名",
            "办公电话",
            "王立新",
            "若系统管理员发生变动",
        ],
    }
    for name, headings in expected.items():
        pdf = out / f"{name}.pdf"
        assert pdf.exists(), f"LibreOffice wrote no {pdf.name}"
        assert pdf.read_bytes().startswith(b"%PDF-")
        shutil.copyfile(pdf, ARTIFACTS / pdf.name)
        _keep_pages_as_png(pdf)
        text = _text(pdf)
        if text is not None:
            # Table cells may wrap, so compare without the layout's spaces and line breaks.
            flat = "".join(text.split())
            missing = [heading for heading in headings if heading not in flat]
            assert missing == [], (name, missing)
