"""Charts of the department's pages, drawn on the server as SVG by pygal.

No CDN and no script: pygal's optional tooltip script is not linked (``js=[]``) and the inline
configuration script it writes regardless is taken out, so the charts are plain SVG that prints
and passes a strict Content-Security-Policy (its CSS carries the response's nonce). Labels are Chinese, in the fonts a Chinese
government desktop has (and the ones Debian's chromium gets in CI).
"""

from xml.etree import ElementTree

import pygal
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from pygal.style import Style

FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", '
    '"PingFang SC", "SimHei", sans-serif'
)
STYLE = Style(
    font_family=FONTS,
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#777",
    colors=("#417690", "#79aec8", "#e0a13a", "#5b9b5b", "#b94a48", "#8c6bb1"),
    title_font_size=15,
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=11,
    legend_font_size=12,
)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def _config(**options) -> dict:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,  # scales with the page's column, and on paper
        "width": 640,
        "height": 320,
        "show_legend": False,
        "print_values": True,
        "print_zeroes": False,
        "no_data_text": gettext("No data"),
        "margin": 12,
        **options,
    }


def _svg(chart, label: str, nonce: str) -> SafeString:
    """The chart as inline SVG without pygal's script, labelled for screen readers.

    The page's Content-Security-Policy admits an inline <style> element only with the
    response's nonce (request.csp_nonce), and no style attribute: pygal's CSS gets the nonce,
    and its one style attribute (the unused tooltip's opacity) becomes an SVG attribute.
    """
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            name = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else None
            if name in (None, "script"):
                parent.remove(child)  # the script, and the generator comments
            elif name == "style":
                child.set("nonce", str(nonce))
    for element in tree.iter():
        declarations = element.attrib.pop("style", "")
        for declaration in declarations.split(";"):
            prop, _colon, value = declaration.partition(":")
            if prop.strip() and value.strip():
                element.set(prop.strip(), value.strip())
    tree.set("role", "img")
    tree.set("aria-label", label)
    ElementTree.register_namespace("", SVG_NAMESPACE)
    return mark_safe(ElementTree.tostring(tree, encoding="unicode"))  # noqa: S308 (built here)


def bar_chart(
    *, title: str, labels: list[str], values: list[int], nonce: str, horizontal=False
) -> SafeString:
    """Bars of labelled counts; horizontal where the labels are long Chinese names.

    nonce: the response's CSP nonce (request.csp_nonce), for the chart's inline CSS.
    """
    chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(
        **_config(title=title, x_label_rotation=0 if horizontal else 45)
    )
    chart.x_labels = labels
    chart.add(title, values)
    return _svg(chart, title, nonce)
