"""Load the 2016 special verification ordered by notice 质检量函〔2016〕27号."""

from datetime import date

from django.db import migrations

NOTICE_NUMBER = "质检量函〔2016〕27号"
CAMPAIGN = {
    "title": "关于开展重点管理计量器具专项核查的通知",
    "issued_on": date(2016, 7, 27),
    # Section 二 (一): data uploaded before 2016-10-31; section 三 (四): returns by end of October.
    "data_deadline": date(2016, 10, 31),
    "return_deadline": date(2016, 10, 31),
}
# Section 一: the nine key-managed instruments (codes of licensing's reference data).
CATEGORY_CODES = [
    "electricity-meter",
    "water-meter",
    "gas-meter",
    "weighing-instrument",
    "fuel-dispenser",
    "taxi-meter",
    "heat-meter",
    "dust-meter",
    "methane-detector",
]


def load(apps, schema_editor):
    Campaign = apps.get_model("verification", "Campaign")
    InstrumentCategory = apps.get_model("licensing", "InstrumentCategory")
    campaign, _created = Campaign.objects.update_or_create(
        notice_number=NOTICE_NUMBER, defaults=CAMPAIGN
    )
    categories = list(InstrumentCategory.objects.filter(code__in=CATEGORY_CODES))
    if len(categories) != len(CATEGORY_CODES):
        missing = set(CATEGORY_CODES) - {category.code for category in categories}
        raise RuntimeError(f"instrument categories missing: {sorted(missing)}")
    campaign.categories.set(categories)


def unload(apps, schema_editor):
    Campaign = apps.get_model("verification", "Campaign")
    # Only while nothing refers to it: returns PROTECT their campaign.
    Campaign.objects.filter(notice_number=NOTICE_NUMBER, returns__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0001_initial"),
        ("licensing", "0002_reference_data"),
    ]

    operations = [migrations.RunPython(load, unload)]
