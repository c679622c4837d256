"""The web console in a real browser, area by area, against ``assistantd serve``: log-in (and a wrong key),
assistants and prompts with versions and a diff, the playground on both APIs with function calls answered
in the page and file_search passages, threads (a 10,000-message one, paged), storage (a 100 MB upload with
progress, download, delete, a vector store's search) and usage charts; everything shown is escaped."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests._cli import clean_env, run_cli, serving

from .conftest import ARTIFACTS, Served, login, open_area, shot

XSS = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _pwned(tab: Any) -> Any:
    return tab.evaluate("window.__pwned === undefined ? null : window.__pwned")


def test_console_is_served_with_a_strict_csp_and_is_not_in_the_openapi_document(served: Served) -> None:
    page = httpx.get(served.url + "/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    asset = httpx.get(served.url + "/console/static/app.js", headers={"accept-encoding": "gzip"})
    assert asset.status_code == 200 and asset.headers["content-encoding"] == "gzip"
    assert asset.headers["content-type"].startswith("text/javascript")
    again = httpx.get(served.url + "/console/static/app.js", headers={"if-none-match": asset.headers["etag"]})
    assert again.status_code == 304
    missing_paths = ("nope.js", "../router.py", "%2e%2e/router.py", "%00.js", "a" * 5000, "views", "")
    for missing in (f"/console/static/{p}" for p in missing_paths):
        assert httpx.get(served.url + missing).status_code == 404, missing
    paths = httpx.get(served.url + "/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_a_wrong_key_is_refused_without_saying_whether_a_project_exists(browser: Any, served: Served) -> None:
    context = browser.new_context()
    tab = context.new_page()
    try:
        for wrong in ("sk-proj-not-a-real-key", "sk-admin-console-0123456789", "x"):
            login(tab, served, key=wrong)
            tab.wait_for_selector("#login-status .notice-error")
            assert tab.inner_text("#login-status").strip() == "Invalid key."
            assert tab.evaluate("sessionStorage.length") == 0
        shot(tab, "login-invalid-key")
        login(tab, served)
        assert tab.evaluate("Object.keys(sessionStorage)") == ["assistantd.console.key"]
    finally:
        context.close()
    for route in ("/console/api/threads", "/console/api/usage"):
        unknown = httpx.get(served.url + route, headers={"Authorization": "Bearer sk-proj-nobody"})
        assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_api_key"


def test_console_false_is_a_404(tmp_path: Path) -> None:
    env = clean_env(ASSISTANTD_UPSTREAM_BASE_URL="scripted", ASSISTANTD_CONSOLE="false")
    with serving(tmp_path / "data", env=env) as server:
        for path in ("/console", "/console/static/app.js", "/console/api/threads"):
            assert httpx.get(server.url + path).status_code == 404, path
        assert httpx.get(server.url + "/health").status_code == 200


def test_assistants_create_edit_validate_and_diff_versions(page: Any, served: Served) -> None:
    open_area(page, served, "assistants")
    page.click("#new-assistant")
    page.fill("#a-name", "Weather bot")
    page.fill("#a-model", "gpt-4o-mini")
    page.fill("#a-instructions", "You answer questions about the weather.")
    page.click("#add-function")
    box = page.locator("textarea.function-json").first
    box.fill('{"name": "get weather", ')
    assert "Not valid JSON" in page.locator("#a-functions .hint").first.inner_text()
    box.fill(json.dumps({**WEATHER, "name": "get weather"}))
    assert "name: 1–64" in page.locator("#a-functions .hint").first.inner_text()
    page.click("#save-assistant")
    page.wait_for_selector("#a-status .notice-error")
    box.fill(json.dumps(WEATHER, indent=2))
    assert page.locator("#a-functions .hint").first.inner_text() == "Valid."
    page.select_option("#a-response-format", "json_schema")
    page.fill("#a-json-schema", "{oops")
    assert page.locator("#a-json-schema").get_attribute("aria-invalid") == "true"
    page.select_option("#a-response-format", "auto")
    page.fill("#a-temperature", "0.3")
    page.click("#save-assistant")
    page.wait_for_selector("#assistant-list .item-title:text('Weather bot')")
    with served.client() as api:
        made = api.get("/v1/assistants").json()["data"][0]
    assert made["name"] == "Weather bot" and made["temperature"] == 0.3
    assert made["tools"] == [{"type": "function", "function": WEATHER}]

    page.fill("#a-instructions", "You answer questions about the weather, briefly.")
    page.check("#a-file-search")
    page.click("#save-assistant")
    page.wait_for_selector("#version-diff .changed-right")
    diff = page.inner_text("#version-diff")
    assert "+ " in diff and "briefly" in diff and '"file_search"' in diff
    assert page.locator("#version-left").input_value() == "1"
    assert page.locator("#version-right").input_value() == "2"
    shot(page, "assistants-versions-diff")


def test_prompts_create_edit_and_diff(page: Any, served: Served) -> None:
    open_area(page, served, "assistants")
    page.click("#tab-prompts")
    page.click("#new-prompt")
    page.fill("#p-name", "Greeter")
    page.fill("#p-model", "gpt-4o-mini")
    page.fill("#p-instructions", "Greet the user in a {{tone}} way.")
    page.fill("#p-tools", '[{"type": "function", "name": "bad name"}]')
    assert "function bad name" in page.locator("#prompt-form .hint").first.inner_text()
    page.fill("#p-tools", "[]")
    page.fill("#p-variables", '{"tone": "warm"}')
    page.click("#save-prompt")
    page.wait_for_selector("#prompt-list .item-title:text('Greeter')")
    page.fill("#p-instructions", "Greet the user in a {{tone}} way, in French.")
    page.click("#save-prompt")
    page.wait_for_selector("#version-diff .changed-right")
    assert "French" in page.inner_text("#version-diff")
    shot(page, "prompts-versions-diff")


def _assistant(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "name": "Playground bot", "tools": [{"type": "function", "function": WEATHER}]}
    made = api.post("/v1/assistants", json={**body, **fields})
    assert made.status_code == 200, made.text
    result: dict[str, Any] = made.json()
    return result


def test_playground_assistant_streams_and_the_user_answers_a_function_call(page: Any, served: Served) -> None:
    with served.client() as api:
        bot = _assistant(api)
    open_area(page, served, "playground", "assistant", bot["id"])
    page.fill("#pg-input", "Hello there")
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('You said: Hello there')")
    assert float(page.get_attribute("body", "data-first-token-ms") or "nan") >= 0
    page.fill("#pg-input", "What does get_weather say for Paris?")
    page.click("#pg-send")
    page.wait_for_selector("#pg-answer")
    assert "function get_weather" in page.inner_text("#pg-chat")
    page.fill("#pg-answer textarea", "21 °C and sunny")
    shot(page, "playground-function-call")
    page.click("#pg-submit-outputs")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('The tool returned: 21 °C and sunny')")
    page.wait_for_selector("#pg-chat .tool-out:text('21 °C and sunny')")
    page.wait_for_selector("#pg-metrics:has-text('run completed')")
    path = shot(page, "playground")
    assert path.stat().st_size > 10_000


def test_playground_file_search_shows_the_cited_passages(page: Any, served: Served) -> None:
    with served.client() as api:
        doc = api.post(
            "/v1/files",
            files={"file": ("returns.txt", b"Returns are accepted within 30 days of delivery with a receipt.")},
            data={"purpose": "assistants"},
        ).json()
        store = api.post("/v1/vector_stores", json={"name": "policies", "file_ids": [doc["id"]]}).json()
        for _ in range(100):
            if api.get(f"/v1/vector_stores/{store['id']}").json()["file_counts"]["completed"] == 1:
                break
            time.sleep(0.1)
        bot = _assistant(
            api,
            name="Policy bot",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [store["id"]]}},
        )
    open_area(page, served, "playground", "assistant", bot["id"])
    page.fill("#pg-input", "How many days do I have for returns?")
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .tool summary:text('file_search')")
    page.wait_for_selector("#pg-chat .passage:has-text('returns.txt')")
    assert "accepted within 30 days" in page.inner_text("#pg-chat .passage-text")
    assert "score" in page.inner_text("#pg-chat .passage")
    shot(page, "playground-file-search")


def test_playground_responses_model_and_prompt(page: Any, served: Served) -> None:
    open_area(page, served, "playground", "model")
    tools = [{"type": "function", **WEATHER}]
    page.fill("#pg-tools", "[{")
    assert "Not valid JSON" in page.inner_text("#pg-form, .view-playground")
    page.fill("#pg-tools", json.dumps(tools))
    page.fill("#pg-input", "Hi from the Responses API")
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('You said: Hi from the Responses API')")
    page.fill("#pg-input", "Ask get_weather about Rome")
    page.click("#pg-send")
    page.wait_for_selector("#pg-answer")
    page.fill("#pg-answer textarea", "18 °C")
    page.click("#pg-submit-outputs")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('The tool returned: 18 °C')")
    shot(page, "playground-responses")

    with served.client() as api:
        prompt = api.post("/v1/prompts", json={"name": "Echo", "model": "gpt-4o-mini", "instructions": "Echo."})
        assert prompt.status_code == 200, prompt.text
    open_area(page, served, "playground", "prompt", prompt.json()["id"])
    page.fill("#pg-input", "Through a stored prompt")
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('You said: Through a stored prompt')")


PLOT = "code: import matplotlib.pyplot as plt; plt.plot([1, 3, 2]); plt.show(); print(6 * 7)"


def test_playground_code_interpreter_code_logs_and_images_on_both_apis(tools_page: Any, served_tools: Served) -> None:
    page = tools_page
    with served_tools.client() as api:
        made = api.post("/v1/assistants", json={"model": "fake-calls", "tools": [{"type": "code_interpreter"}]})
        assert made.status_code == 200, made.text
    open_area(page, served_tools, "playground", "assistant", made.json()["id"])
    page.fill("#pg-input", PLOT)
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .tool summary:text('code_interpreter')")
    page.wait_for_selector("#pg-chat .tool-logs:text('42')")
    assert "plt.plot([1, 3, 2])" in page.inner_text("#pg-chat .tool-code")
    page.wait_for_selector("#pg-chat img.tool-image[src^='blob:']")
    page.wait_for_function("() => document.querySelector('#pg-chat img.tool-image').naturalWidth > 100")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('tok')")
    shot(page, "playground-code-interpreter")

    open_area(page, served_tools, "playground", "model")
    page.fill("#pg-model", "fake-calls")
    page.fill("#pg-tools", json.dumps([{"type": "code_interpreter", "container": {"type": "auto"}}]))
    page.fill("#pg-input", PLOT)
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .tool-logs:text('42')")
    page.wait_for_selector("#pg-chat img.tool-image[src^='blob:']")
    page.wait_for_function("() => document.querySelector('#pg-chat img.tool-image').naturalWidth > 100")
    shot(page, "playground-responses-code-interpreter")


def _seed_thread(api: httpx.Client, n: int) -> str:
    """A thread of ``n`` messages through the Conversations API, 20 items a request (its maximum)."""
    thread = api.post("/v1/threads", json={"metadata": {"seeded": "10k"}}).json()["id"]
    for start in range(0, n, 20):
        items = [
            {"type": "message", "role": "user", "content": f"message number {i}"}
            for i in range(start, min(start + 20, n))
        ]
        made = api.post(f"/v1/conversations/{thread}/items", json={"items": items})
        assert made.status_code == 200, made.text
    return thread


def test_threads_search_browse_page_a_10000_message_thread_and_draw_timelines(page: Any, served: Served) -> None:
    with served.client() as api:
        started = time.monotonic()
        big = _seed_thread(api, 10_000)
        seeded = time.monotonic() - started
        bot = _assistant(api, name="Timeline bot")
        small = api.post("/v1/threads", json={"messages": [{"role": "user", "content": "call get_weather"}]}).json()[
            "id"
        ]
        run = api.post(f"/v1/threads/{small}/runs", json={"assistant_id": bot["id"]}).json()
        for _ in range(100):
            run = api.get(f"/v1/threads/{small}/runs/{run['id']}").json()
            if run["status"] == "requires_action":
                break
            time.sleep(0.1)
        call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
        api.post(
            f"/v1/threads/{small}/runs/{run['id']}/submit_tool_outputs",
            json={"tool_outputs": [{"tool_call_id": call["id"], "output": "windy"}]},
        )
        resp = api.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "conversation": small})
        assert resp.status_code == 200, resp.text
    print(f"seeded 10,000 messages in {seeded:.1f} s")

    open_area(page, served, "threads")
    page.fill("#thread-search", "10k")
    page.click("form[role=search] button")
    page.wait_for_selector(f"#thread-list button[data-id='{big}']")
    assert page.locator("#thread-list button.item").count() == 1
    page.fill("#thread-search", "message number 1234")  # a message's text
    with page.expect_response(lambda r: "q=message+number+1234" in r.url) as searched:
        page.click("form[role=search] button")
    assert [t["id"] for t in searched.value.json()["data"]] == [big]
    page.wait_for_selector(f"#thread-list button[data-id='{big}']")
    assert page.locator("#thread-list button.item").count() == 1
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.click(f"#thread-list button[data-id='{big}']")
    page.wait_for_selector("#thread-items .thread-item")
    assert page.locator("#thread-items .thread-item").count() == 50
    assert "message number 9999" in page.inner_text("#thread-items .thread-item >> nth=0")
    page.click("#items-older")
    page.wait_for_selector("#thread-items .thread-item >> nth=99")
    assert "message number 9900" in page.inner_text("#thread-items .thread-item >> nth=99")
    assert all("limit=50" in u for u in requests if "/items" in u)
    shot(page, "threads-10000-messages")

    page.fill("#thread-search", "")
    page.click("form[role=search] button")
    page.wait_for_selector(f"#thread-list button[data-id='{small}']")
    page.click(f"#thread-list button[data-id='{small}']")
    page.wait_for_selector("#thread-runs svg.timeline >> nth=1")
    pictures = page.locator("#thread-runs figure.run-timeline")
    assert pictures.count() == 2
    text = page.inner_text("#thread-runs")
    assert run["id"] in text and resp.json()["id"] in text and "tok" in text
    assert page.locator("#thread-runs svg rect.span-tool_calls").count() >= 1
    assert page.locator("#thread-runs svg rect.span-message_creation").count() >= 1
    assert "function get_weather" in page.inner_text("#thread-items")
    shot(page, "threads-timeline")

    with served.client() as api:
        item = {"type": "message", "role": "user", "content": "made through the Conversations API"}
        conv = api.post("/v1/conversations", json={"items": [item]}).json()["id"]
    page.fill("#thread-search", conv)
    page.click("form[role=search] button")
    page.click(f"#thread-list button[data-id='{conv}']")
    page.wait_for_selector("#thread-items .thread-item:has-text('made through the Conversations API')")
    assert "No run or response" in page.inner_text("#thread-runs")

    # A failed step is drawn in the error colour with its message (the scripted backend never fails a run).
    drawn = page.evaluate(
        """async () => {
          const { timeline } = await import('/console/static/charts.js');
          const svg = timeline('run_x', [
            { label: 'run failed', start: 100, end: 104, kind: 'run', error: 'Upstream <b>timed out</b>' },
            { label: 'message', start: 100, end: 102, kind: 'message_creation', detail: '2 s · 8 tok' },
          ]);
          return { errors: svg.querySelectorAll('rect.span-error').length, text: svg.textContent,
                   widths: [...svg.querySelectorAll('rect')].map((r) => Number(r.getAttribute('width'))) };
        }"""
    )
    assert drawn["errors"] == 1 and "Upstream <b>timed out</b>" in drawn["text"] and "2 s · 8 tok" in drawn["text"]
    assert drawn["widths"][0] == 2 * drawn["widths"][1]  # durations to scale


def test_storage_upload_with_progress_download_delete_and_vector_store_search(
    page: Any, served: Served, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    size = 100 * 1024 * 1024
    with big.open("wb") as f:
        f.truncate(size)
    note = tmp_path / "shipping.txt"
    note.write_text("Orders ship within two business days from our warehouse in Lyon.\n")
    open_area(page, served, "storage")
    page.set_input_files("#file-input", [str(big), str(note)])
    started = time.monotonic()
    page.click("#upload")
    page.wait_for_selector("#upload-progress .upload-label[data-file-id] >> nth=1", timeout=120_000)
    took = time.monotonic() - started
    samples = int(page.get_attribute("#upload-progress .upload-label >> nth=0", "data-events") or 0)
    print(f"100 MB upload through the browser in {took:.1f} s, {samples} progress events")
    assert samples >= 2
    big_id = page.get_attribute("#upload-progress .upload-label >> nth=0", "data-file-id")
    with served.client() as api:
        assert api.get(f"/v1/files/{big_id}").json()["bytes"] == size
    shot(page, "storage-upload")

    with page.expect_download() as download:
        page.click("#file-table tr:has-text('shipping.txt') button.download")
    saved = tmp_path / "downloaded.txt"
    download.value.save_as(saved)
    assert saved.read_text() == note.read_text()

    page.click(f"#file-table tr[data-id='{big_id}'] button.danger")
    page.click(f"#file-table tr[data-id='{big_id}'] button.danger")
    page.wait_for_selector(f"#file-table tr[data-id='{big_id}']", state="detached")

    page.fill("#vs-name", "Shipping")
    page.select_option(
        "#vs-files", label=next(o for o in page.locator("#vs-files option").all_inner_texts() if "shipping.txt" in o)
    )
    page.click("#vs-create button[type=submit]")
    page.wait_for_selector("#vs-list .item-title:text('Shipping')")
    page.click("#vs-list button:has-text('Shipping')")
    page.wait_for_selector("#vs-files-table .badge.completed")  # redrawn every second while ingesting
    assert page.inner_text("#vs-files-table .badge") == "completed"
    page.fill("#vs-query", "when do orders ship")
    page.click("#vs-search button[type=submit]")
    page.wait_for_selector("#vs-results .search-result")
    result = page.inner_text("#vs-results .search-result")
    assert "shipping.txt" in result and "score" in result and "two business days" in result
    shot(page, "storage-vector-store-search")


def test_usage_charts(page: Any, served: Served) -> None:
    with served.client() as api:
        made = api.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "count my tokens"})
        assert made.status_code == 200
    open_area(page, served, "usage")
    page.wait_for_selector("#usage-charts svg.chart rect.bar")
    assert page.locator("#usage-charts svg.chart").count() == 2
    assert "gpt-4o-mini" in page.inner_text("#usage-table")
    usage = httpx.get(served.url + "/console/api/usage?days=7", headers={"Authorization": f"Bearer {served.key}"})
    assert usage.status_code == 200 and len(usage.json()["data"]) == 7
    shot(page, "usage")


def test_stored_markup_is_shown_as_text_everywhere(page: Any, served: Served) -> None:
    with served.client() as api:
        api.post("/v1/assistants", json={"model": "gpt-4o-mini", "name": XSS, "instructions": XSS})
        thread = api.post("/v1/threads", json={"messages": [{"role": "user", "content": XSS}]}).json()["id"]
        api.post("/v1/files", files={"file": (XSS + ".txt", b"x")}, data={"purpose": "assistants"})
    open_area(page, served, "assistants")
    page.wait_for_selector("#assistant-list .item-title")
    assert XSS in page.inner_text("#assistant-list")
    assert page.input_value("#a-instructions") == XSS
    open_area(page, served, "threads", thread)
    page.wait_for_selector("#thread-items .thread-item")
    assert page.inner_text("#thread-items .thread-item >> nth=0").endswith(XSS)
    open_area(page, served, "storage")
    page.wait_for_selector("#file-table .file-name")
    assert XSS + ".txt" in page.locator("#file-table .file-name").all_inner_texts()
    open_area(page, served, "playground", "assistant")
    page.fill("#pg-input", XSS)
    page.click("#pg-send")
    page.wait_for_selector("#pg-chat .bubble.assistant:has-text('You said:')")
    assert XSS in page.inner_text("#pg-chat .bubble.assistant")
    assert page.locator("#main script, #main img[src='x']").count() == 0
    assert _pwned(page) is None
    shot(page, "escaping")


def test_keyboard_reaches_every_area_and_control(page: Any, served: Served) -> None:
    open_area(page, served, "assistants")
    page.reload()  # a fresh document: focus navigation starts at the top
    page.wait_for_selector("body[data-ready='assistants']", state="attached")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    seen = []
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent"))
    assert seen == ["Assistants & prompts", "Playground", "Threads", "Storage", "Usage", "Log out"]
    page.keyboard.press("Shift+Tab")  # back to "Usage"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready='usage']", state="attached")
    assert page.evaluate("document.activeElement.textContent") == "Usage"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # into the view: the period selector is a real, focusable control
    assert page.evaluate("document.activeElement.id") == "usage-days"
    assert ARTIFACTS.is_dir()


CONTRAST = """() => {
  // WCAG 2 contrast of every visible text against its effective background (the first opaque ancestor's).
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0.9) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length || el.closest("svg, [hidden]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.closest("option")) continue;
    const a = lum(rgb(style.color).slice(0, 3));
    const b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const what = `${el.tagName}.${el.className}: ${node.textContent.trim().slice(0, 40)}`;
    if (ratio < (large ? 3 : 4.5)) worst.push(`${ratio.toFixed(2)} ${what}`);
  }
  return worst;
}"""


def test_text_contrast_meets_wcag_aa_in_every_area(page: Any, served: Served) -> None:
    for area in ("assistants", "playground", "threads", "storage", "usage"):
        open_area(page, served, area)
        page.wait_for_timeout(200)
        assert page.evaluate(CONTRAST) == [], area
    page.click("#who button")  # log out: the log-in page too
    page.wait_for_selector("#login")
    assert page.evaluate(CONTRAST) == []


def test_console_routes_are_confined_to_the_keys_project(served: Served) -> None:
    made = run_cli("keys", "create", "--project", "someone else", "--data-dir", str(served.data), env=served.env)
    assert made.returncode == 0, made.stderr
    other = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with served.client() as api:
        thread = api.post("/v1/threads", json={"metadata": {"team": "mine"}}).json()["id"]
        api.post(f"/v1/threads/{thread}/messages", json={"role": "user", "content": "private words"})
        api.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "conversation": thread})
        mine = api.get("/console/api/threads", params={"q": "private words"}).json()["data"]
        assert [t["id"] for t in mine] == [thread]
        assert api.get(f"/console/api/threads/{thread}/runs").json()["data"]
    with httpx.Client(base_url=served.url, headers=other, timeout=30) as api:
        assert api.get("/console/api/threads", params={"q": "private words"}).json()["data"] == []
        assert thread not in {t["id"] for t in api.get("/console/api/threads?limit=100").json()["data"]}
        assert api.get(f"/console/api/threads/{thread}/runs").json()["data"] == []
        buckets = api.get("/console/api/usage?days=1").json()["data"]
        assert [b["results"] for b in buckets] == [[]]
