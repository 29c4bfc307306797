"""Languages: Chinese (zh_CN) first, English second, through Flask-Babel.

The locale is chosen, in order, by ``?lang=`` (``zh``, ``zh_CN``, ``zh-CN``, ``en``), then the ``lang``
cookie that a ``?lang=`` choice leaves behind, then the browser's ``Accept-Language``, then zh_CN.

Message ids in the code and templates are English; ``webmap/translations/zh`` holds the Chinese
(Babel reads zh_CN as zh_Hans_CN, whose gettext fallback is ``zh``).
Catalogues are compiled with ``pybabel compile -d webmap/translations`` and the ``.mo`` files are committed,
so an installed app needs no build step. Re-extract with::

    pybabel extract -F webmap/babel.cfg -o webmap/translations/messages.pot webmap
    pybabel update -i webmap/translations/messages.pot -d webmap/translations
    pybabel compile -d webmap/translations
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale

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
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default=None)
    return normalise(best) or DEFAULT_LOCALE


def lang() -> str:
    """``"zh"`` or ``"en"``: the short code the domain library's ``describe(lang)`` functions take."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def pick(pair: tuple[str, str]) -> str:
    """The label for the current locale from a ``(zh, en)`` pair as in :mod:`stations.schema`."""
    return pair[1] if lang() == "en" else pair[0]


def init_app(app: Flask) -> Babel:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel = Babel(app, locale_selector=select_locale)

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
        return {"current_lang": lang(), "html_lang": "en" if lang() == "en" else "zh-CN", "pick": pick}

    return babel
