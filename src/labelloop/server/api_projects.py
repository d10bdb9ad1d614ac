"""REST routes for projects, members, users, tokens, import, export, statistics and QA."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as Path_
from fastapi.responses import FileResponse

from labelloop.errors import Conflict, InvalidInput, PermissionDenied
from labelloop.server.deps import LoggedIn, ProjectRole
from labelloop.server.schemas import (
    CreateProject,
    CreateUser,
    DeleteItems,
    ErrorBody,
    Me,
    MemberRole,
    TokenCreated,
    UpdateProject,
)
from labelloop.services import stats, users
from labelloop.services.data.formats import EXPORT_FORMATS, FOLDER_EXPORT_FORMATS
from labelloop.services.data.importing import ImportOptions
from labelloop.services.projects import ProjectSettings
from labelloop.services.quality import qa
from labelloop.services.quality.results import QAReport
from labelloop.services.results import (
    MAX_ID,
    DeleteResult,
    ExportResult,
    ImportResult,
    ProjectInfo,
    ProjectStatus,
)
from labelloop.services.users import Principal, TokenInfo, UserInfo

__all__ = ["router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 422)
}
router = APIRouter(responses=ERRORS)

Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]
Anyone = Annotated[Principal, Depends(LoggedIn())]
Superuser = Annotated[Principal, Depends(LoggedIn(superuser=True))]


def _ws(request: Request) -> Any:
    return request.app.state.ws


@router.get("/me", response_model=Me, tags=["users"])
def me(request: Request, principal: Anyone) -> Me:
    return Me(name=principal.name, is_superuser=principal.is_superuser, roles=principal.roles)


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["users"])
def create_my_token(request: Request, principal: Anyone) -> TokenCreated:
    """A new API token for the caller (shown once)."""
    return TokenCreated(token=users.create_token(_ws(request), principal.name), user=principal.name)


def _owner(principal: Principal, user: str | None) -> str | None:
    """Whose tokens a call may see: the caller's own; anyone's (``user``, or all) for a
    superuser."""
    if principal.is_superuser:
        return user
    if user is not None and user != principal.name:
        raise PermissionDenied("only a superuser may see or revoke another user's tokens")
    return principal.name


@router.get("/tokens", response_model=list[TokenInfo], tags=["users"])
def list_tokens(
    request: Request,
    principal: Anyone,
    user: Annotated[str | None, Query(max_length=200)] = None,
) -> list[TokenInfo]:
    """The caller's API tokens and browser sessions (a superuser: ``user``'s, or everyone's)."""
    return users.list_tokens(_ws(request), _owner(principal, user))


@router.delete("/tokens/{token_id}", response_model=TokenInfo, tags=["users"])
def revoke_token(
    request: Request, token_id: Annotated[int, Path_(ge=1, le=MAX_ID)], principal: Anyone
) -> TokenInfo:
    """Revoke an API token or session of the caller's (a superuser: anyone's); it stops working
    on the next request."""
    owner = None if principal.is_superuser else principal.name
    return users.revoke_token(_ws(request), token_id, owner=owner)


@router.post("/users", response_model=UserInfo, status_code=201, tags=["users"])
def create_user(request: Request, body: CreateUser, principal: Superuser) -> UserInfo:
    info = users.add_user(_ws(request), body.name, password=body.password, superuser=body.superuser)
    request.app.state.auth_cache.clear()
    return info


@router.get("/projects", response_model=list[ProjectInfo], tags=["projects"])
def list_projects(request: Request, principal: Anyone) -> list[ProjectInfo]:
    """The projects the caller is a member of (all of them for a superuser)."""
    projects = _ws(request).list_projects()
    return [p for p in projects if principal.role_in(p.name) is not None]


@router.post("/projects", response_model=ProjectInfo, status_code=201, tags=["projects"])
def create_project(request: Request, body: CreateProject, principal: Superuser) -> ProjectInfo:
    info = users.create_project_with_admin(
        _ws(request),
        body.name,
        admin=principal.name,
        labels=list(body.labels),
        task=body.task,
        multi_label=body.multi_label,
        backbone=body.backbone,
        descriptions=body.descriptions,
        settings=_given(body.settings),
        allow_overlap=bool(body.allow_overlap),
        type_map=body.type_map,
    )
    request.app.state.auth_cache.clear()
    return info


def _given(settings: ProjectSettings | None) -> dict[str, Any] | None:
    """The settings a request body named (not the defaults of those it left out)."""
    return None if settings is None else settings.model_dump(exclude_unset=True)


@router.get("/projects/{project}", response_model=ProjectInfo, tags=["projects"])
def get_project(request: Request, project: str, principal: Member) -> ProjectInfo:
    return _ws(request).project(project)


@router.patch("/projects/{project}", response_model=ProjectInfo, tags=["projects"])
def update_project(
    request: Request, project: str, body: UpdateProject, principal: Admin
) -> ProjectInfo:
    return _ws(request).update_project(
        project,
        backbone=body.backbone,
        settings=_given(body.settings),
        descriptions=body.descriptions,
        allow_overlap=body.allow_overlap,
        type_map=body.type_map,
    )


@router.delete("/projects/{project}", response_model=DeleteResult, tags=["projects"])
def delete_project(request: Request, project: str, principal: Admin) -> DeleteResult:
    """Delete the project with its items, answers, suggestions, model versions and their
    files, flags, leases, comments, imports and memberships (not undoable). Refused (409) while
    the server's retrain worker is training it."""
    if request.app.state.retrainer.state(project).state == "running":
        raise Conflict(f"project {project!r} is training a model; delete it when that is done")
    result: DeleteResult = _ws(request).delete_project(project)
    request.app.state.auth_cache.clear()
    request.app.state.dashboards.clear()
    return result


@router.delete("/projects/{project}/items/{item_id}", response_model=DeleteResult, tags=["data"])
def delete_item(
    request: Request,
    project: str,
    item_id: Annotated[int, Path_(ge=1, le=MAX_ID)],
    principal: Admin,
) -> DeleteResult:
    """Delete one item with its answers, suggestions, flags, leases and comments."""
    result: DeleteResult = _ws(request).delete_items(project, [item_id])
    return result


@router.post("/projects/{project}/items/delete", response_model=DeleteResult, tags=["data"])
def delete_items(
    request: Request, project: str, body: DeleteItems, principal: Admin
) -> DeleteResult:
    """Delete several items, all or none: an id that is not the project's (404) deletes
    nothing."""
    result: DeleteResult = _ws(request).delete_items(project, body.item_ids)
    return result


@router.get("/projects/{project}/status", response_model=ProjectStatus, tags=["projects"])
def get_status(request: Request, project: str, principal: Member) -> ProjectStatus:
    return _ws(request).status(project)


@router.get("/projects/{project}/members", response_model=dict[str, str], tags=["users"])
def list_members(request: Request, project: str, principal: Admin) -> dict[str, str]:
    return users.list_members(_ws(request), project)


@router.put("/projects/{project}/members/{username}", response_model=UserInfo, tags=["users"])
def set_member(
    request: Request, project: str, username: str, body: MemberRole, principal: Admin
) -> UserInfo:
    info = users.set_member(_ws(request), project, username, body.role)
    request.app.state.auth_cache.clear()
    return info


@router.delete("/projects/{project}/members/{username}", status_code=204, tags=["users"])
def remove_member(request: Request, project: str, username: str, principal: Admin) -> None:
    users.remove_member(_ws(request), project, username)
    request.app.state.auth_cache.clear()


@router.post(
    "/projects/{project}/import", response_model=ImportResult, status_code=201, tags=["data"]
)
def import_upload(
    request: Request,
    project: str,
    principal: Admin,
    file: Annotated[
        UploadFile,
        File(description="CSV, TSV, JSONL, Parquet, Label Studio or COCO JSON, or a zip"),
    ],
    format: Annotated[str | None, Form(max_length=20)] = None,
    text_field: Annotated[str, Form(max_length=200)] = "text",
    label_field: Annotated[str | None, Form(max_length=200)] = None,
    id_field: Annotated[str | None, Form(max_length=200)] = None,
    path_field: Annotated[str, Form(max_length=200)] = "path",
    labels_from_subfolders: Annotated[bool, Form()] = False,
    on_bad_file: Annotated[str, Form(max_length=10)] = "refuse",
) -> ImportResult:
    """Import an uploaded file into the project (one transaction). A zip file (a folder of
    images, ``class_name/file`` with ``labels_from_subfolders``, YOLO, Pascal VOC, or one data
    file with its media) is extracted into the workspace's media root; ``on_bad_file``:
    ``refuse`` or ``skip`` corrupt, truncated, unsupported or oversize media files."""
    name = Path(file.filename or "upload").name
    suffix = "".join(Path(name).suffixes[-2:])[:20]
    if not suffix and format is None:
        raise InvalidInput("give the file an extension or a format", field="format")
    with tempfile.TemporaryDirectory(prefix="labelloop-import-") as tmp:
        target = Path(tmp) / f"upload{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        return _ws(request).import_file(
            project,
            target,
            ImportOptions(
                format=format,
                text_field=text_field,
                label_field=label_field,
                id_field=id_field,
                path_field=path_field,
                labels_from_subfolders=labels_from_subfolders,
                on_bad_file=on_bad_file,
                max_zip_bytes=request.app.state.settings.max_decompressed_bytes,
                annotator=principal.name,
                # an uploaded file may name media only under the server's media roots
                media_roots=tuple(request.app.state.settings.media_roots),
                max_meta_bytes=request.app.state.settings.max_meta_bytes,
                max_decompressed_bytes=request.app.state.settings.max_decompressed_bytes,
            ),
        )


@router.get(
    "/projects/{project}/export",
    tags=["data"],
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def export(
    request: Request,
    project: str,
    principal: Admin,
    background: BackgroundTasks,
    format: Annotated[
        str, Query(max_length=20, json_schema_extra={"enum": list(EXPORT_FORMATS)})
    ] = "jsonl",
    only: Literal["all", "human", "accepted"] = "all",
) -> FileResponse:
    """Download the project's items and labels, each label with its provenance. A folder
    format (``hf``: a Hugging Face dataset saved with ``save_to_disk``; ``folders``, ``yolo``,
    ``voc``: the images with their labels) comes as a ``.zip`` of the folder."""
    if format not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    tmp = tempfile.mkdtemp(prefix="labelloop-export-")
    background.add_task(shutil.rmtree, tmp, True)
    ext = {"labelstudio": "json", "label-studio-config": "xml", "coco": "json"}.get(format, format)
    out = Path(tmp) / f"{project}.{ext}"
    result: ExportResult = _ws(request).export(project, out, format=format, only=only)
    sent = Path(result.out)
    if format in FOLDER_EXPORT_FORMATS:
        sent = Path(shutil.make_archive(str(out), "zip", root_dir=result.out))
    return FileResponse(
        sent,
        filename=sent.name,
        media_type="application/octet-stream",
        headers={"X-Labelloop-Rows": str(result.rows)},
    )


@router.get("/projects/{project}/stats", response_model=stats.Dashboard, tags=["statistics"])
def get_stats(request: Request, project: str, principal: Admin) -> stats.Dashboard:
    """Progress, learning curve, suggestion acceptance, annotators and the champion's metrics
    (the dashboard's numbers, for the project's admins; computed once per change)."""
    ws = _ws(request)
    version = stats.dashboard_version(ws, project)
    return request.app.state.dashboards.get(
        project, version, "board", lambda: stats.dashboard(ws, project)
    )


@router.get("/projects/{project}/qa", response_model=QAReport, tags=["quality"])
def qa_report(request: Request, project: str, principal: Reviewer) -> QAReport:
    """The quality report (what `labelloop qa` prints): agreement, gold accuracy, label issues,
    per-class errors, the auto-accept audit, blind versus suggested answers and flags."""
    return qa.qa_report(_ws(request), project)
