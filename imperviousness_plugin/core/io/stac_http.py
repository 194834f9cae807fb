"""Bounded HTTP for the STAC catalogue: paged /search and HEAD requests that cannot run forever.

Every request has a connect and read timeout and a total deadline (the read is done in pieces and
the clock checked between them, so a server trickling one byte a second is cut off too); the
search has a time budget, a cap on pages and items, notices a `next` link it has already followed
(a catalogue that loops) and checks cancellation between pages. Each failure names the URL.
pystac-client is not used for the search: its `Client.open` drops the timeout it is given
(`_stac_io.timeout` is None afterwards) and its pages cannot be bounded from outside.
"""

import json
import time
import zlib
from dataclasses import dataclass

from ..errors import Cancelled, ImperviousnessError

RETRIES = 5                       # on 429/5xx, connection errors and timeouts, within the budget
RETRY_STATUS = (429, 500, 502, 503, 504)
CHUNK = 1 << 16


@dataclass
class Limits:
    """The bounds of one search and fetch (Processing parameters of preprocess / stacsearch)."""

    timeout: float = 60.0         # s: connect, read and total time of one request
    max_pages: int = 100          # search pages followed through `next` links
    max_items: int = 5000         # items a search may return
    search_budget: float = 900.0  # s for the whole search
    scene_budget: float = 900.0   # s for fetching one scene (all its bands)


class HttpError(ImperviousnessError):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def session():
    import requests
    http = requests.Session()
    # Identity encoding: the body is read in pieces straight from the socket (read1 below).
    http.headers.update({"Accept": "application/geo+json, application/json",
                         "Accept-Encoding": "identity", "User-Agent": "imperviousness-plugin"})
    return http


def request_json(http, method, url, body, limits, deadline, cancelled=None):
    """The JSON answer of one request, retried on transient failures until `deadline`."""
    last = None
    for attempt in range(RETRIES + 1):
        if cancelled is not None and cancelled():
            raise Cancelled("Cancelled by the user")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return _request_once(http, method, url, body, min(limits.timeout, remaining))
        except HttpError as error:
            last = error
            if error.status is not None and error.status not in RETRY_STATUS:
                raise
        time.sleep(min(0.25 * 2 ** attempt, max(deadline - time.monotonic(), 0)))
    raise HttpError(f"{method} {url} failed: {last or 'no time left in the search budget'}",
                    getattr(last, "status", None))


def _request_once(http, method, url, body, timeout):
    import requests
    end = time.monotonic() + timeout
    try:
        with http.request(method, url, json=body, timeout=(timeout, timeout), stream=True,
                          allow_redirects=True) as response:
            data = _read_body(response, url, end)
            if response.status_code >= 400:
                raise HttpError(f"HTTP {response.status_code} from {url}: {data[:200]!r}",
                                response.status_code)
    except requests.exceptions.Timeout:
        raise HttpError(f"no answer from {url} within {timeout:g} s") from None
    except requests.exceptions.RequestException as error:
        raise HttpError(f"cannot reach {url} ({first_line(error)})") from None
    try:
        return json.loads(data)
    except ValueError:
        raise HttpError(f"{url} did not answer JSON: {data[:200]!r}", 200) from None


def _read_body(response, url, end):
    """The whole body, read piece by piece so that a trickling server meets the deadline."""
    raw = getattr(response.raw, "_fp", None)
    read = getattr(raw, "read1", None) or response.raw.read   # http.client's read1: one recv
    pieces = []
    while True:
        if time.monotonic() > end:
            raise HttpError(f"{url} did not finish its answer within the time limit "
                            f"(received {sum(map(len, pieces))} bytes)")
        piece = read(CHUNK)
        if not piece:
            break
        pieces.append(piece)
    data = b"".join(pieces)
    if response.headers.get("Content-Encoding", "").lower() == "gzip":
        data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    return data


def source_state(http, url, timeout):
    """(ETag, size) of a file behind `url` from one HEAD request (None where not given)."""
    import requests
    try:
        response = http.head(url, timeout=(timeout, timeout), allow_redirects=True)
    except requests.exceptions.RequestException as error:
        raise HttpError(f"HEAD {url} failed ({first_line(error)})") from None
    if response.status_code >= 400:
        raise HttpError(f"HTTP {response.status_code} for HEAD {url}", response.status_code)
    size = response.headers.get("Content-Length")
    return response.headers.get("ETag"), int(size) if size and size.isdigit() else None


def search_pages(http, url, body, limits, cancelled=None, on_page=None):
    """Items of a POST /search and its `next` links, bounded by `limits`."""
    deadline = time.monotonic() + limits.search_budget
    items, seen = [], {}
    method, page_url, page_body = "POST", url, body
    for page in range(1, limits.max_pages + 2):
        key = (method, page_url, json.dumps(page_body, sort_keys=True))
        if key in seen:
            raise ImperviousnessError(
                f"The STAC catalogue loops: the next link of page {page - 1} ({method} {page_url}) "
                f"repeats page {seen[key]}; stopped after {len(items)} items.")
        if page > limits.max_pages:
            raise ImperviousnessError(
                f"The STAC search at {url} has more than {limits.max_pages} pages (MAX_PAGES); "
                f"the last one followed was {page_url}. Narrow the extent or dates, or raise MAX_PAGES.")
        seen[key] = page
        try:
            answer = request_json(http, method, page_url, page_body, limits, deadline, cancelled)
        except HttpError as error:
            late = time.monotonic() >= deadline
            raise ImperviousnessError(
                f"The STAC search failed on page {page} at {page_url}: {error}"
                + (f" (search time budget of {limits.search_budget:g} s spent)" if late else "")
            ) from None
        features = answer.get("features") if isinstance(answer, dict) else None
        if not isinstance(features, list):
            raise ImperviousnessError(f"{page_url} answered no STAC item list (no 'features').")
        items.extend(features)
        if len(items) > limits.max_items:
            raise ImperviousnessError(
                f"The STAC search at {url} returned more than {limits.max_items} items (MAX_ITEMS) "
                f"after {page} pages. Narrow the extent or dates, or raise MAX_ITEMS.")
        if on_page is not None:
            on_page(page, len(items))
        following = _next_link(answer)
        if following is None or not features:
            return items
        method = following.get("method", "GET").upper()
        page_url = following["href"]
        if method == "POST":
            page_body = dict(page_body or {}, **following.get("body", {})) \
                if following.get("merge") else following.get("body", page_body)
        else:
            page_body = None
    return items


def _next_link(answer):
    for link in answer.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return link
    return None


def first_line(error):
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__
