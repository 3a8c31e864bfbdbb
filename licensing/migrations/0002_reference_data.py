"""Load the 32 reporting units and the nine key-managed instrument categories."""

from django.db import migrations

# GB/T 2260 code, name, abbreviation, alternate abbreviations accepted in licence numbers.
PROVINCES = [
    ("11", "北京市", "京", ""),
    ("12", "天津市", "津", ""),
    ("13", "河北省", "冀", ""),
    ("14", "山西省", "晋", ""),
    ("15", "内蒙古自治区", "蒙", ""),
    ("21", "辽宁省", "辽", ""),
    ("22", "吉林省", "吉", ""),
    ("23", "黑龙江省", "黑", ""),
    ("31", "上海市", "沪", ""),
    ("32", "江苏省", "苏", ""),
    ("33", "浙江省", "浙", ""),
    ("34", "安徽省", "皖", ""),
    ("35", "福建省", "闽", ""),
    ("36", "江西省", "赣", ""),
    ("37", "山东省", "鲁", ""),
    ("41", "河南省", "豫", ""),
    ("42", "湖北省", "鄂", ""),
    ("43", "湖南省", "湘", ""),
    ("44", "广东省", "粤", ""),
    ("45", "广西壮族自治区", "桂", ""),
    ("46", "海南省", "琼", ""),
    ("50", "重庆市", "渝", ""),
    ("51", "四川省", "川", "蜀"),
    ("52", "贵州省", "贵", "黔"),
    ("53", "云南省", "云", "滇"),
    ("54", "西藏自治区", "藏", ""),
    ("61", "陕西省", "陕", "秦"),
    ("62", "甘肃省", "甘", "陇"),
    ("63", "青海省", "青", ""),
    ("64", "宁夏回族自治区", "宁", ""),
    ("65", "新疆维吾尔自治区", "新", ""),
    # Not a GB/T 2260 region: code and abbreviation are conventions, editable in the admin.
    ("66", "新疆生产建设兵团", "兵", ""),
]

# code, name, catalogue batch, note, aliases accepted on import.
CATEGORIES = [
    ("electricity-meter", "电能表", 1, "", ""),
    ("water-meter", "水表", 1, "", ""),
    ("gas-meter", "煤气表", 1, "", "燃气表"),
    ("weighing-instrument", "衡器", 1, "不含杆秤", "衡器（不含杆秤）"),
    ("fuel-dispenser", "加油机", 1, "含加油机税控装置", "加油机（含税控装置）,加油机（含加油机税控装置）"),
    ("taxi-meter", "出租车计价器", 1, "", ""),
    ("heat-meter", "热能表", 2, "", "热量表"),
    ("dust-meter", "粉尘测量仪", 2, "", ""),
    ("methane-detector", "甲烷测定器", 2, "瓦斯计", "瓦斯计,甲烷测定器（瓦斯计）"),
]


def load(apps, schema_editor):
    Province = apps.get_model("licensing", "Province")
    InstrumentCategory = apps.get_model("licensing", "InstrumentCategory")
    for code, name, abbreviation, alternates in PROVINCES:
        Province.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "abbreviation": abbreviation,
                "alternate_abbreviations": alternates,
            },
        )
    for order, (code, name, batch, note, aliases) in enumerate(CATEGORIES, start=1):
        InstrumentCategory.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "batch": batch,
                "note": note,
                "aliases": aliases,
                "key_managed": True,
                "sort_order": order,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("licensing", "InstrumentCategory").objects.filter(
        code__in=[row[0] for row in CATEGORIES]
    ).delete()
    apps.get_model("licensing", "Province").objects.filter(
        code__in=[row[0] for row in PROVINCES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
