"""The review web app: FastAPI routes over the plain review functions, server-rendered with Jinja2.

Security rules, in one place:
- every template is autoescaped (case text, questions and notes are untrusted);
- login is by token; the session is a signed, HttpOnly, SameSite=Strict cookie (:mod:`.session`);
- every POST needs the session's CSRF token and, when the browser sends one, a same-origin Origin;
- a Content-Security-Policy allows only this app's own scripts, styles and images;
- images are served by graphic id, only when the warehouse registers a decoded file for it.
Route handlers that touch the warehouse are plain ``def``: FastAPI runs them in its thread pool, and
the store serialises writes (:mod:`mmrare.annotations.review.store`).
"""

# No ``from __future__ import annotations`` here: FastAPI reads the handlers' annotations at runtime,
# and the dependency aliases (Me, Posted, Adj) are local to create_app.
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mmrare.annotations.review import adjudication, queue, submit
from mmrare.annotations.review.agreement import agreement_stats
from mmrare.annotations.review.annotators import authenticate, get_annotator
from mmrare.annotations.review.errors import Conflict, NotAllowed, NotFound, ReviewError
from mmrare.annotations.review.itemview import REVIEW_VERSION, image_file, load_item_page
from mmrare.annotations.review.records import REJECT_REASONS, Annotator
from mmrare.annotations.review.settings import ReviewSettings
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.versions import MAX_OPTIONS, get_version, list_versions
from mmrare.annotations.review.web.forms import Form, edit_from_form, read_form
from mmrare.annotations.review.web.session import COOKIE, Session, SessionCodec
from mmrare.errors import FatalError

_ITEM_ID = re.compile(r"^[0-9a-f]{8,64}$")
_GRAPHIC_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "TIFF": "image/tiff"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
LETTERS = "ABCDEFGHIJ"


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("mmrare.annotations.review.web") / name))


def templates() -> Environment:
    """The Jinja2 environment: autoescape on for every template, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(_package_dir("templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(letters=LETTERS, reject_reasons=REJECT_REASONS, max_options=MAX_OPTIONS)
    return env


def create_app(store: ReviewStore, settings: ReviewSettings, secret: bytes) -> FastAPI:
    """The app for one warehouse. ``secret`` signs session cookies (see :func:`settings.load_secret`)."""
    app = FastAPI(title="mmrare review", docs_url=None, redoc_url=None, openapi_url=None)
    env = templates()
    codec = SessionCodec(secret, settings.session_max_age_s)
    leases = queue.Leases(settings.lease_seconds)
    app.state.store = store
    app.state.leases = leases
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")

    @app.middleware("http")
    async def hold_warehouse(request: Request, call_next: Any) -> Response:
        """The warehouse is open only while a request needs it (see :mod:`..store`)."""
        if request.url.path.startswith("/static/"):
            return await call_next(request)  # type: ignore[no-any-return]
        held = store.session()
        try:
            await run_in_threadpool(held.__enter__)
        except FatalError as exc:
            message = f"Another mmrare command is using the warehouse ({exc}). Reload when it is done."
            return render(request, "message.html", 503, title="Busy", message=message)
        try:
            return await call_next(request)  # type: ignore[no-any-return]
        finally:
            await run_in_threadpool(held.__exit__, None, None, None)

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next: Any) -> Response:
        session = codec.loads(request.cookies.get(COOKIE)) or Session.fresh()
        request.state.session = session
        response: Response = await call_next(request)
        session = request.state.session  # a login or logout replaces it
        if session.changed:
            response.set_cookie(
                COOKIE,
                codec.dumps(session),
                max_age=settings.session_max_age_s,
                httponly=True,
                samesite="strict",
                secure=settings.cookie_secure,
                path="/",
            )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session: Session = request.state.session
        context.setdefault("me", None)
        context.setdefault("error", None)
        context.setdefault("form", None)
        html = env.get_template(name).render(csrf=session.csrf, **context)
        return HTMLResponse(html, status_code=status_code)

    def current(request: Request) -> Annotator:
        """The logged-in, still active annotator; otherwise a redirect to the login page."""
        session: Session = request.state.session
        if session.annotator:
            try:
                who = get_annotator(store, session.annotator)
            except NotFound:
                who = None
            if who is not None and who.active:
                return who
        raise HTTPException(303, headers={"Location": "/login"})

    async def checked_form(request: Request) -> Form:
        """The POSTed form, after the same-origin and CSRF checks."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(403, "cross-origin form post refused")
        form = await read_form(request)
        session: Session = request.state.session
        if not session.csrf_ok(form.get("csrf")):
            raise HTTPException(403, "the form expired or did not come from this site; reload and retry")
        return form

    Me = Annotated[Annotator, Depends(current)]
    Posted = Annotated[Form, Depends(checked_form)]

    def item_or_404(item_id: str) -> str:
        if not _ITEM_ID.match(item_id):
            raise HTTPException(404, "no such item")
        return item_id

    @app.exception_handler(ReviewError)
    def review_error(request: Request, exc: ReviewError) -> HTMLResponse:
        return render(request, "message.html", exc.status_code, title="Not done", message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307) and exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=303)
        return render(request, "message.html", exc.status_code, title="Error", message=str(exc.detail))

    # ------------------------------------------------------------------ login
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html")

    @app.post("/login")
    def login(request: Request, form: Posted) -> Response:
        try:
            who = authenticate(store, form.get("token").strip())
        except NotAllowed:
            return render(request, "login.html", 403, error="Unknown or inactive token.")
        request.state.session = Session.fresh(who.name)
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, form: Posted) -> Response:
        request.state.session = Session.fresh(None)
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------------ queue
    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request, me: Me) -> HTMLResponse:
        summary = queue.summary(store, me.name)
        n_adjudicate = len(queue.outcomes(store, "needs_adjudication")) if me.is_adjudicator else 0
        return render(request, "dashboard.html", me=me, summary=summary, n_adjudicate=n_adjudicate)

    @app.get("/next")
    def next_item(request: Request, me: Me, skip: str = "") -> Response:
        if skip and _ITEM_ID.match(skip):
            leases.release(skip, me.name)
        found = queue.next_item(store, me.name, leases, skip=[skip] if skip else [])
        if found is None:
            return render(
                request, "message.html", me=me, title="Queue empty", message="Nothing left to review."
            )
        return RedirectResponse(f"/items/{found}", status_code=303)

    def item_page(
        request: Request, me: Me, item_id: str, status_code: int = 200, **extra: Any
    ) -> HTMLResponse:
        page = load_item_page(store, item_id, REVIEW_VERSION)
        mine = submit.my_review(store, item_id, me.name)
        if mine is None:
            leases.claim(item_id, me.name)
        return render(request, "item.html", status_code, me=me, page=page, mine=mine, **extra)

    @app.get("/items/{item_id}", response_class=HTMLResponse)
    def show_item(request: Request, me: Me, item_id: str) -> HTMLResponse:
        return item_page(request, me, item_or_404(item_id))

    @app.get("/items/{item_id}/edit", response_class=HTMLResponse)
    def edit_item(request: Request, me: Me, item_id: str) -> HTMLResponse:
        page = load_item_page(store, item_or_404(item_id), REVIEW_VERSION)
        return render(
            request, "edit.html", me=me, page=page, action=f"/items/{item_id}/review", mode="review"
        )

    @app.post("/items/{item_id}/review")
    def review(request: Request, me: Me, item_id: str, form: Posted) -> Response:
        item_or_404(item_id)
        verdict = form.get("verdict")
        try:
            submit.submit_review(
                store,
                item_id=item_id,
                annotator=me.name,
                verdict=verdict,
                shown_version=form.integer("shown_version", REVIEW_VERSION),
                edit=edit_from_form(form) if verdict == "edit" else None,
                reject_reason=(form.get("reject_reason") or None) if verdict == "reject" else None,
                comment=form.get("comment"),
            )
        except ReviewError as exc:
            if verdict == "edit":
                page = load_item_page(store, item_id, REVIEW_VERSION)
                return render(
                    request,
                    "edit.html",
                    exc.status_code,
                    me=me,
                    page=page,
                    error=str(exc),
                    action=f"/items/{item_id}/review",
                    mode="review",
                    form=form,
                )
            return item_page(request, me, item_id, exc.status_code, error=str(exc))
        leases.release(item_id, me.name)
        return RedirectResponse(f"/next?skip={item_id}", status_code=303)

    # ------------------------------------------------------------------ adjudication
    def adjudicator(me: Me) -> Annotator:
        if not me.is_adjudicator:
            raise NotAllowed("only adjudicators can open adjudication")
        return me

    Adj = Annotated[Annotator, Depends(adjudicator)]

    @app.get("/adjudicate", response_class=HTMLResponse)
    def adjudication_list(request: Request, me: Adj, show: str = "") -> HTMLResponse:
        decided = show == "decided"
        items = adjudication.adjudication_list(store, decided=decided)
        return render(request, "adjudicate_list.html", me=me, items=items, decided=decided)

    @app.get("/adjudicate/{item_id}", response_class=HTMLResponse)
    def adjudication_page(request: Request, me: Adj, item_id: str) -> HTMLResponse:
        page = load_item_page(store, item_or_404(item_id), REVIEW_VERSION)
        with store.read() as cur:
            # never show verdicts of an item still under review
            outcome = adjudication.ready_outcome(cur, item_id)
            versions = list_versions(cur, item_id)
        reviews = submit.item_reviews(store, item_id)
        return render(
            request,
            "adjudicate.html",
            me=me,
            page=page,
            outcome=outcome,
            reviews=reviews,
            i_reviewed=any(r.annotator == me.name for r in reviews),
            versions=versions,
            history=adjudication.history(store, item_id),
            reopenings=adjudication.reopenings_for(store, item_id),
        )

    @app.post("/adjudicate/{item_id}/reopen")
    def reopen(request: Request, me: Adj, item_id: str, form: Posted) -> Response:
        adjudication.reopen(
            store, item_id=item_or_404(item_id), adjudicator=me.name, reason=form.get("reason")
        )
        return RedirectResponse(f"/adjudicate/{item_id}", status_code=303)

    @app.get("/adjudicate/{item_id}/edit", response_class=HTMLResponse)
    def adjudication_edit(request: Request, me: Adj, item_id: str, base: int = 0) -> HTMLResponse:
        page = load_item_page(store, item_or_404(item_id), REVIEW_VERSION)
        with store.read() as cur:
            if adjudication.ready_outcome(cur, item_id).decided:
                raise Conflict(f"item {item_id} is decided; reopen it with a reason before editing it")
            page.version = get_version(cur, item_id, base)
        return render(
            request, "edit.html", me=me, page=page, action=f"/adjudicate/{item_id}", mode="adjudicate"
        )

    @app.post("/adjudicate/{item_id}")
    def decide(request: Request, me: Adj, item_id: str, form: Posted) -> Response:
        item_or_404(item_id)
        decision = form.get("decision")
        edit = edit_from_form(form) if form.get("mode") == "edit" else None
        adjudication.adjudicate(
            store,
            item_id=item_id,
            adjudicator=me.name,
            decision=decision,
            item_version=None if edit is not None or decision != "accept" else form.integer("item_version"),
            edit=edit,
            base_version=form.integer("shown_version", 0),
            reject_reason=(form.get("reject_reason") or None) if decision == "reject" else None,
            note=form.get("note"),
        )
        return RedirectResponse("/adjudicate", status_code=303)

    # ------------------------------------------------------------------ stats and images
    @app.get("/stats", response_class=HTMLResponse)
    def stats(request: Request, me: Me) -> HTMLResponse:
        return render(request, "stats.html", me=me, report=agreement_stats(store))

    @app.get("/images/{graphic_id}")
    def image(me: Me, graphic_id: str) -> Response:
        found = image_file(store, graphic_id) if _GRAPHIC_ID.match(graphic_id) else None
        if found is None or not Path(found[0]).is_file():
            raise HTTPException(404, "no such image")
        path, fmt = found
        media = _IMAGE_TYPES.get((fmt or "").upper(), "application/octet-stream")
        return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    return app
