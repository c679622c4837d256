"""/v1/threads/{thread_id}/runs, /v1/threads/runs, and run steps."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from assistantd.api._json import WireResponse, wire
from assistantd.api._route import WireRoute
from assistantd.api.deps import Beta, PollAfter, PollHelper, RunsDep
from assistantd.api.pagination import Include, Page
from assistantd.api.sse import sse
from assistantd.wire.runs import RunCreate, RunModify, SubmitToolOutputs, ThreadAndRunCreate

router = APIRouter(route_class=WireRoute, dependencies=[Beta], default_response_class=WireResponse)


@router.post("/threads/runs", response_model=None)
async def create_thread_and_run(req: ThreadAndRunCreate, runs: RunsDep, poll: PollAfter, include: Include) -> Response:
    if req.stream:
        return sse(await runs.stream_thread_and_run(req, include))
    return wire(await runs.create_thread_and_run(req), poll)


@router.post("/threads/{thread_id}/runs", response_model=None)
async def create_run(thread_id: str, req: RunCreate, runs: RunsDep, poll: PollAfter, include: Include) -> Response:
    if req.stream:
        return sse(await runs.stream_run(thread_id, req, include))
    return wire(await runs.create_run(thread_id, req), poll)


@router.get("/threads/{thread_id}/runs")
async def list_runs(thread_id: str, page: Page, runs: RunsDep) -> WireResponse:
    return wire(await runs.list_runs(thread_id, page))


@router.get("/threads/{thread_id}/runs/{run_id}")
async def retrieve_run(
    thread_id: str, run_id: str, runs: RunsDep, poll: PollAfter, poll_helper: PollHelper
) -> WireResponse:
    return wire(await runs.retrieve_run(thread_id, run_id, poll_helper=poll_helper), poll)


@router.post("/threads/{thread_id}/runs/{run_id}")
async def modify_run(thread_id: str, run_id: str, runs: RunsDep, req: RunModify | None = None) -> WireResponse:
    return wire(await runs.modify_run(thread_id, run_id, req or RunModify()))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, runs: RunsDep, poll: PollAfter) -> WireResponse:
    return wire(await runs.cancel_run(thread_id, run_id), poll)


@router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", response_model=None)
async def submit_tool_outputs(
    thread_id: str, run_id: str, req: SubmitToolOutputs, runs: RunsDep, poll: PollAfter, include: Include
) -> Response:
    if req.stream:
        return sse(await runs.stream_submit_tool_outputs(thread_id, run_id, req, include))
    return wire(await runs.submit_tool_outputs(thread_id, run_id, req), poll)


@router.get("/threads/{thread_id}/runs/{run_id}/steps")
async def list_run_steps(thread_id: str, run_id: str, page: Page, include: Include, runs: RunsDep) -> WireResponse:
    return wire(await runs.list_run_steps(thread_id, run_id, page, include))


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
async def retrieve_run_step(thread_id: str, run_id: str, step_id: str, include: Include, runs: RunsDep) -> WireResponse:
    return wire(await runs.retrieve_run_step(thread_id, run_id, step_id, include))
