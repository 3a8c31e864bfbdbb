from datetime import date, datetime

from django import forms
from django.utils import formats, translation


def test_dates_are_shown_as_2016_10_31_in_chinese():
    with translation.override("zh-hans"):
        assert formats.date_format(date(2016, 10, 31)) == "2016-10-31"
        assert formats.date_format(date(2016, 10, 31), "SHORT_DATE_FORMAT") == "2016-10-31"
        assert formats.date_format(datetime(2016, 10, 31, 9, 5), "DATETIME_FORMAT") == (
            "2016-10-31 09:05"
        )


def test_date_fields_accept_the_forms_clerks_type():
    with translation.override("zh-hans"):
        field = forms.DateField()
        for text in ["2016-10-31", "2016/10/31", "2016.10.31", "2016年10月31日", "20161031"]:
            assert field.clean(text) == date(2016, 10, 31), text
