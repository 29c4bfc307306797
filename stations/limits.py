"""The limits of every input, in one table: the web parameters, the CLI options and the library's own
checks all read their ranges from here, so a radius allowed on one page is allowed on every other.

Each :class:`Limit` has an inclusive range ``lo``..``hi`` in ``unit``, an optional ``default`` and a line of
help saying why the limit is where it is. Look one up with ``LIMITS["radius_m"]`` or the module constants.

Besides the ranges of parameters, the table holds the budgets of issue 14 (``coverage_pairs`` ... ``analysis_seconds``):
sizes estimated before heavy work starts (:mod:`stations.budget`), the byte budgets of the web app's caches and
uploaded sets, and wall-clock limits. :func:`markdown_table` renders the table for the README.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    lo: float
    hi: float
    unit: str
    default: float | None
    help: str

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi


_TABLE = (
    Limit("radius_m", 50.0, 20_000.0, "m", 1000.0,
          "service radius (geodesic metres); 1 km is the towns' rule, 20 km the widest rural radius worth asking"),
    Limit("hour", 0, 23, "hour", None, "hour of the day in Asia/Shanghai for 'open at'"),
    Limit("weekday", 0, 6, "day", 2, "day of the week, 0 = Monday"),
    Limit("nearest_k", 1, 100, "stations", 5, "stations returned by /api/nearest"),
    Limit("stations_page", 1, 10_000, "stations", 1000, "stations per page of /api/stations"),
    Limit("stations_offset", 0, 1_000_000_000, "stations", 0, "where a page of /api/stations starts"),
    Limit("lat", -90, 90, "degree", None, "WGS-84 latitude of a query point"),
    Limit("lon", -180, 180, "degree", None, "WGS-84 longitude of a query point"),
    Limit("max_km", 0, 20_000, "km", None, "only stations within this geodesic distance (half the equator is 20,000 km)"),
    Limit("places", 1, 50, "places", 10, "places returned by /api/places"),
    Limit("place_query_chars", 1, 50, "characters", None, "length of a place search text"),
    Limit("gaps", 1, 5000, "gaps", 100, "gap polygons returned or downloaded"),
    Limit("sites_n", 0, 500, "sites", 10, "recommended new sites per request"),
    Limit("cli_sites_n", 0, 20_000, "sites", None, "recommended new sites on the command line (no request to keep short)"),
    Limit("target_pct", 0.01, 100, "%", None, "coverage target for the fewest sites"),
    Limit("whatif_add", 0, 500, "sites", None, "hypothetical stations in one what-if"),
    Limit("whatif_close", 0, 5000, "stations", None, "stations closed in one what-if"),
    Limit("whatif_gaps", 0, 5000, "gaps", 300, "gap polygons recomputed by one what-if (0: none)"),
    Limit("whatif_hours_chars", 0, 200, "characters", None, "opening-hours text of one hypothetical station"),
    Limit("candidate_rows", 1, 50_000, "rows", None, "rows of an uploaded candidate-site file"),
    Limit("candidate_upload_bytes", 1, 5 * 1024 * 1024, "bytes", None, "size of an uploaded candidate-site file"),
    Limit("candidate_sets", 1, 20, "sets", None, "uploaded candidate sets one session keeps in memory (its oldest go first)"),
    Limit("demand_upload_bytes", 1, 64 * 1024 * 1024, "bytes", None, "size of an uploaded demand file"),
    Limit("demand_sets", 1, 8, "sets", None, "uploaded demand sets one session keeps in memory (its oldest go first)"),
    Limit("sheet_dpi", 50, 600, "dpi", 200, "resolution of a PNG sheet on the command line"),
    Limit("web_sheet_dpi", 50, 300, "dpi", 150, "resolution of a PNG sheet drawn for a web request"),
    Limit("report_text_chars", 0, 300, "characters", None,
          "the optional text of a worker's report: a sentence or two (e.g. 关门了，门口贴了通知), not a letter"),
    Limit("report_body_bytes", 1, 4096, "bytes", None, "a worker's report request (a reason, the text, a honeypot)"),
    Limit("reports_per_client_hour", 1, 12, "reports", None,
          "reports one client may send in an hour (a rider passing a dozen stations on a shift)"),
    Limit("reports_per_client_day", 1, 40, "reports", None, "reports one client may send in a day"),
    Limit("logins_per_client_minute", 1, 10, "attempts", None, "login attempts from one client in a minute"),
    Limit("logins_per_user_hour", 1, 30, "attempts", None, "login attempts for one user name in an hour"),
    Limit("registry_upload_bytes", 1, 20 * 1024 * 1024, "bytes", None,
          "a registry file uploaded in the management area (the whole province is about 1 MB as CSV)"),
    Limit("manage_page", 1, 500, "rows", 100, "rows per page of the management lists (reports, stations, log)"),
    Limit("recommend_seconds", 1, 30, "s", 30, "run-time limit of one greedy recommendation"),
    Limit("exact_seconds", 1, 20, "s", 20, "time given to the exact (HiGHS) solver in a web request"),
    Limit("cli_exact_seconds", 1, 3600, "s", 120, "time given to the exact (HiGHS) solver on the command line"),
    # per-client rate limits of the heavy endpoints (webmap.security; the default is the limit in force)
    Limit("rate_recommend_per_min", 1, 10_000, "requests/min", 20,
          "recommendations, their downloads and curves per client and minute (each may take seconds of a worker)"),
    Limit("rate_whatif_per_min", 1, 10_000, "requests/min", 30, "what-if scenarios per client and minute"),
    Limit("rate_upload_per_min", 1, 10_000, "requests/min", 10, "demand and candidate uploads per client and minute"),
    Limit("rate_print_per_min", 1, 10_000, "requests/min", 20, "printed sheets (PDF/PNG) per client and minute"),
    Limit("rate_atlas_per_min", 1, 10_000, "requests/min", 30,
          "atlas requests per client and minute (the status polls are not limited)"),
    Limit("rate_analysis_per_min", 1, 10_000, "requests/min", 120,
          "coverage, gaps, coverage layer and their downloads per client and minute (the planner page asks "
          "for four at each change)"),
    # heavy work in worker processes (webmap.jobs)
    Limit("jobs_waiting_per_process", 1, 64, "requests", 3,
          "heavy requests one web process lets wait for a worker at once (the rest of its threads stay free for "
          "the finder); beyond it HTTP 503 with Retry-After"),
    Limit("job_wait_seconds", 1, 600, "s", 120,
          "how long a web request waits for its job in a worker before answering 503 (the job is revoked)"),
    # ---- budgets (issue 14): the size of a piece of work, estimated before it starts (stations.budget)
    Limit("coverage_pairs", 1, 10_000_000, "pairs", None,
          "demand points x candidate sites within the radius in one siting model of a web request, counted with a "
          "k-d tree before the matrix is built (about 12 bytes each: 10 M is 120 MB; the default 1 km radius pairs "
          "0.6 M, 5 km 7.9 M, 20 km 23 M)"),
    Limit("cli_coverage_pairs", 1, 100_000_000, "pairs", None,
          "the same on the command line (about 1.2 GB at the limit; a province-wide 20 km radius pairs 23 M)"),
    Limit("raster_pixels", 1, 4_000_000, "pixels", None,
          "width x height of a demand GeoTIFF, read from its header before any pixel (Yunnan at 1 km is about "
          "1 M pixels; resample a finer raster first, e.g. gdalwarp -tr 0.01 0.01 -r sum)"),
    Limit("demand_cells", 1, 400_000, "cells", None,
          "demand points from one file; polygons are spread over H3 cells of resolution 9 (0.1 km²) or, when "
          "that would exceed this, the finest of resolutions 8 and 7 within it (the bundled model has 72,574)"),
    Limit("demand_rows", 1, 200_000, "rows", None,
          "rows of a demand table (CSV / XLSX) or features of a layer, counted before parsing (200,000 rows take "
          "about 10 s to read and check; the bundled model has 72,574 cells)"),
    Limit("table_rows", 1, 1_000_000, "rows", None, "rows of any other table file (station import), counted before parsing"),
    Limit("xlsx_cells", 1, 5_000_000, "cells", None,
          "rows x columns of the first sheet of an XLSX file, read from the sheet's own <dimension> before parsing"),
    Limit("xlsx_xml_bytes", 1, 64 * 1024 * 1024, "bytes", None,
          "uncompressed size of an XLSX file's parts, from the zip directory before parsing"),
    Limit("zip_ratio", 1, 200, "x", None,
          "compression ratio of any part of an XLSX file larger than 1 MB uncompressed (sheets compress about "
          "10x; a zip bomb thousands of times)"),
    Limit("memo_bytes", 1, 768 * 1024 * 1024, "bytes", None,
          "analyses (coverage, gaps, siting models, recommendations) kept in memory per registry snapshot (a "
          "coverage result is about 40 MB, a recommendation at 1 km 100 MB, at 5 km 200 MB)"),
    Limit("memo_owner_bytes", 1, 256 * 1024 * 1024, "bytes", None,
          "the part of the analysis memo one session (or all requests without a session together) may fill; "
          "its own oldest entries go first, never another session's"),
    Limit("upload_bytes", 1, 512 * 1024 * 1024, "bytes", None, "uploaded demand and candidate sets kept in memory, in all"),
    Limit("upload_session_bytes", 1, 128 * 1024 * 1024, "bytes", None,
          "uploaded sets one session (or all requests without a session together) may keep in memory"),
    Limit("idle_seconds", 1, 86_400, "s", 1800,
          "an entry unused this long may make room for anyone's; younger ones only for their own session's"),
    Limit("isochrone_nodes", 1, 60_000, "nodes", None,
          "street nodes within reach of the stations of one web request for isochrones (every station open at an "
          "hour), counted with the network's k-d tree before the walk (about 20 s of work at the limit on a "
          "2-core machine; the command line has no such limit)"),
    Limit("analysis_seconds", 1, 30, "s", 25,
          "wall-clock limit of one analysis in a web request (gaps, a print sheet's layers, reading an upload)"),
)

#: name -> :class:`Limit`
LIMITS: dict[str, Limit] = {lim.name: lim for lim in _TABLE}

RADIUS_M = LIMITS["radius_m"]
MIN_RADIUS_M = RADIUS_M.lo
MAX_RADIUS_M = RADIUS_M.hi
DEFAULT_RADIUS_M = RADIUS_M.default


def _fmt(x: float, unit: str = "") -> str:
    if unit == "bytes" and x >= 1024 * 1024:
        return f"{x / (1024 * 1024):g} MiB"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:g}"


def markdown_table() -> str:
    """The limits as a Markdown table (name, range, unit, default, why): the README's "Limits" section is
    this text, checked by a test."""
    lines = ["| limit | range | unit | default | why |", "|---|---|---|---|---|"]
    for lim in _TABLE:
        default = "" if lim.default is None else _fmt(lim.default, lim.unit)
        lines.append(f"| `{lim.name}` | {_fmt(lim.lo, lim.unit)}–{_fmt(lim.hi, lim.unit)} | {lim.unit} | {default} | {lim.help} |")
    return "\n".join(lines)
