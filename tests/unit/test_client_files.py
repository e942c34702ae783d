"""The walk that finds every file the meeting page needs: what it follows and what it leaves alone."""

from __future__ import annotations

from server.client_files import references, walk


def test_module_imports_are_found_in_every_form_a_browser_follows() -> None:
    source = """
import { $ } from "./dom.js";
import {
  Mesh,
  LocalMedia as Media,
} from './mesh.js';
import * as ns from "../lib/ns.js";
import "/static/side-effect.js";
export { x } from "./reexport.js";
export * from "./all.js";
const later = await import( "./dynamic.js" );
import{a as b}from"./minified.js";export*from"./minified-all.js";
"""
    assert references("/static/js/main.js", source) == [
        "/static/js/dom.js",
        "/static/js/mesh.js",
        "/static/lib/ns.js",
        "/static/side-effect.js",
        "/static/js/reexport.js",
        "/static/js/all.js",
        "/static/js/dynamic.js",
        "/static/js/minified.js",
        "/static/js/minified-all.js",
    ]


def test_code_that_only_looks_like_an_import_is_not_followed() -> None:
    source = """
// import x from "./commented.js"
/* The page starts here:
 * import { y } from "./documented.js"
 */
const imported = "import x from './no.js'".length;
loader.import("./method.js");
export const name = "./value.js";
"""
    assert references("/static/js/a.js", source) == []


def test_a_page_loads_its_scripts_stylesheets_and_images_but_not_inline_data_or_other_origins() -> None:
    page = """<!doctype html><html><head>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/css/circle.css">
<link rel="canonical" href="/elsewhere">
<link rel="modulepreload" href="../static/js/dom.js">
<script type="module" src="/static/js/main.js"></script>
<script src="https://cdn.example.com/tracker.js"></script>
</head><body><img src="logo.png" alt=""></body></html>"""
    assert references("/r/AbC", page) == [
        "/static/css/circle.css",
        "/static/js/dom.js",
        "/static/js/main.js",
        "/r/logo.png",
    ]


def test_stylesheets_load_their_imports_and_urls() -> None:
    css = """@import url("base.css"); @import 'print.css';
.a { background: url(../img/a.png) } .b { background: url("data:image/png;base64,AAAA") }"""
    assert references("/static/css/circle.css", css) == [
        "/static/css/base.css",
        "/static/css/print.css",
        "/static/img/a.png",
    ]


def test_walk_follows_imports_to_the_last_module_once_each_and_names_who_wanted_a_missing_one() -> None:
    files = {
        "/r/x": '<script type="module" src="/static/a.js"></script>'
        '<link rel="stylesheet" href="/static/s.css">',
        "/static/a.js": 'import "./b.js"; import "./c.js";',
        "/static/b.js": 'import "./c.js"; import "./a.js";',
        "/static/c.js": 'import "./deep/gone.js";',
        "/static/s.css": "body { color: black }",
    }
    asked: list[str] = []

    def load(path: str) -> str | None:
        asked.append(path)
        return files.get(path)

    found = walk("/r/x", load)
    assert sorted(found.loaded) == sorted(files)
    assert found.missing == [("/static/deep/gone.js", "/static/c.js")]
    assert len(asked) == len(set(asked)), "each file is loaded once, even in an import cycle"
