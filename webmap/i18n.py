"""Languages: Chinese (zh_CN) first, English second, through Flask-Babel.

The locale is chosen, in order, by ``?lang=`` (``zh``, ``zh_CN``, ``zh-CN``, ``en``), then the ``lang``
cookie that a ``?lang=`` choice leaves behind, then the browser's ``Accept-Language``, then zh_CN.

Message ids in the code and templates are English; ``webmap/translations/zh`` holds the Chinese
(Babel reads zh_CN as zh_Hans_CN, whose gettext fallback is ``zh``).
Catalogues are compiled with ``pybabel compile -d webmap/translations`` and the ``.mo`` files are committed,
so an installed app needs no build step. Re-extract with::

    pybabel extract -F webmap/babel.cfg -k t -k _l -o webmap/translations/messages.pot webmap
    pybabel update -i webmap/translations/messages.pot -d webmap/translations -l zh
    pybabel compile -d webmap/translations

(``-k t`` finds the planner's ``t(...)``, ``-k _l`` the lazy strings below.) Page scripts never carry their own
text: the server renders the translated strings into a ``<script type="application/json">`` block that the
script reads (``#yz-config`` on the finder, ``#pl-config`` and ``#wi-strings`` on the planner).
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
_ALIASES = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "zh-hans": "zh_CN", "cn": "zh_CN",
            "en": "en", "en_us": "en", "en-us": "en", "en_gb": "en", "en-gb": "en"}
COOKIE = "lang"


def normalise(value: str | None) -> str | None:
    """``"zh-CN"`` -> ``"zh_CN"``, ``"en"`` -> ``"en"``; None for anything else."""
    if not value:
        return None
    return _ALIASES.get(value.strip().lower())


def select_locale() -> str:
    chosen = normalise(request.args.get("lang")) or normalise(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return _from_accept_language(request.headers.get("Accept-Language", ""))


@lru_cache(maxsize=256)
def _from_accept_language(header: str) -> str:
    """The locale for an ``Accept-Language`` header (parsed once per distinct header: browsers send a few)."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    best = parse_accept_header(header, LanguageAccept).best_match(["zh-CN", "zh", "en"], default=None)
    return normalise(best) or DEFAULT_LOCALE


_LOCALE_OBJECTS: dict = {}


def _selected_locale():
    """:func:`select_locale` as a ``babel.Locale`` made once per code: Flask-Babel would parse the code again on
    every request (a third of the finder API's own time when profiled)."""
    code = select_locale()
    loc = _LOCALE_OBJECTS.get(code)
    if loc is None:
        from babel import Locale

        loc = _LOCALE_OBJECTS[code] = Locale.parse(code)
    return loc


def lang() -> str:
    """``"zh"`` or ``"en"``: the short code the domain library's ``describe(lang)`` functions take."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def pick(pair: tuple[str, str]) -> str:
    """The label for the current locale from a ``(zh, en)`` pair as in :mod:`stations.schema`."""
    return pair[1] if lang() == "en" else pair[0]


#: The recommend / what-if panel of the planner (webmap/static/whatif.js): key -> msgid. Rendered by
#: planner.html into ``<script id="wi-strings" type="application/json">``.
WHATIF_STRINGS = {
    "title": _l("Recommend sites and what-if"),
    "n": _l("New sites N"),
    "target": _l("or target coverage %"),
    "recommend": _l("Recommend"),
    "computing": _l("Computing…"),
    "gain": _l("Newly covered"),
    "cum": _l("Cumulative %"),
    "before": _l("Now"),
    "after": _l("With plan"),
    "workers": _l("workers"),
    "useSites": _l("Add the recommended sites to the scenario"),
    "scenario": _l("What-if scenario"),
    "addMode": _l("Click map: add a station"),
    "closeMode": _l("Click map: close nearest station"),
    "added": _l("Added"),
    "closed": _l("Closed"),
    "accept": _l("Accept scenario"),
    "discard": _l("Discard scenario"),
    "accepted": _l("Scenario accepted (kept on this page only; nothing written to the registry)"),
    "discarded": _l("Scenario discarded"),
    "none": _l("none"),
    "remove": _l("remove"),
    "noStation": _l("No open station within 3 km"),
    "prefecture": _l("Prefecture"),
    "delta": _l("Change"),
    "failed": _l("Could not compute"),
    "curve": _l("Coverage curve"),
    "download": _l("Download"),
    "exact": _l("exact"),
    "gap": _l("gap"),
    "noWrite": _l("What-if scenarios are never written to the station registry."),
    "exportPlan": _l("Export plan as GeoJSON"),
    "lowerBound": _l("the optimum needs at least"),
    "sitesUnit": _l("sites"),
    "hours": _l("Opening hours of a new station"),
    "hours24": _l("24 hours"),
    "hoursDay": _l("08:00-20:00 daily"),
    "hoursOffice": _l("Mon-Fri 09:00-17:00"),
    "hoursOther": _l("Other (type the hours)"),
    "hoursPlaceholder": _l("e.g. 07:00-22:00 or Mo-Sa 08:00-18:00"),
    "badHours": _l("Cannot read the opening hours"),
}

#: Msgids that the planner page (``_strings()`` in :mod:`webmap.planner`) looks up with ``t(key)`` for planner.js.
#: The calls there take a variable, so ``pybabel extract`` cannot see them; listing them here keeps them in the
#: catalogue.
PLANNER_JS_MSGIDS = (
    _l("Area"), _l("Stations"), _l("Per 10k urban"), _l("Workers"), _l("Covered"), _l("Covered %"),
    _l("Area km²"), _l("Covered km²"), _l("Median m"), _l("P90 m"), _l("Uncovered workers"), _l("Nearest station"),
    _l("County"), _l("Computing…"), _l("Could not compute coverage"), _l("of"), _l("workers covered"),
    _l("stations open"), _l("no data"), _l("All day (status only)"), _l("at"), _l("Sort"), _l("workers"),
    _l("m on average to the nearest station"), _l("Uploading…"), _l("Could not use the file"), _l("points"),
    _l("Estimated outdoor workers (model)"), _l("Stations per 10k urban residents"), _l("Workers covered"),
    _l("About the demand model"), _l("Finder"),
)


def whatif_strings() -> dict[str, str]:
    """The what-if panel's strings in the current language."""
    return {key: str(value) for key, value in WHATIF_STRINGS.items()}


def init_app(app: Flask) -> Babel:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel = Babel(app, locale_selector=_selected_locale)

    @app.after_request
    def _remember_lang(response):
        chosen = normalise(request.args.get("lang"))
        if chosen and request.cookies.get(COOKIE) != chosen and response.mimetype == "text/html":
            response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Language", "en" if lang() == "en" else "zh-CN")
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response

    @app.context_processor
    def _i18n_context():
        return {"current_lang": lang(), "html_lang": "en" if lang() == "en" else "zh-CN", "pick": pick,
                "whatif_strings": whatif_strings}

    return babel
