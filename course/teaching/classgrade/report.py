"""The report folder: grades.csv, summary.md, report.html (the instructor's), feedback/<learner>.md.

``report.html`` is one self-contained file (inline style, no scripts, no links out) with, per
learner, every notebook's status, the checks that failed with expected versus actual output
(hidden checks included, marked), and the exception when the learner's code raised.
``feedback/<learner>.md`` is what a learner may see: the same, without any hidden check's title,
message or output (only how many hidden checks there were and how many passed).
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import jinja2

from course.teaching.classgrade.model import PASSED, STATUSES, NotebookResult

CSV_COLUMNS = ["learner", "notebook", "checks_passed", "checks_total", "status", "seconds"]


def feedback_name(learner: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", learner).strip("._") or "learner"


def by_learner(results: list[NotebookResult]) -> dict[str, list[NotebookResult]]:
    grouped: dict[str, list[NotebookResult]] = {}
    for result in results:
        grouped.setdefault(result.learner, []).append(result)
    return grouped


def write_csv(results: list[NotebookResult], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in results:
            writer.writerow([r.learner, r.notebook, r.checks_passed, r.checks_total, r.status, f"{r.seconds:.1f}"])


def _notebooks(results: list[NotebookResult]) -> list[str]:
    return list(dict.fromkeys(r.notebook for r in results))


_ENV = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)
_HTML_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                               undefined=jinja2.StrictUndefined)

SUMMARY = _ENV.from_string("""\
# Grades: {{ title }}

{{ learners|length }} learner{{ "s" if learners|length != 1 }}; {{ all_passed }} passed everything.
Per notebook: `grades.csv`; per learner, failed checks with expected and actual output: `report.html`;
what each learner may see (no hidden checks): `feedback/`.

| notebook | {{ statuses|join(" | ") }} |
|---|{% for s in statuses %}---|{% endfor %}

{% for name in notebooks %}
| {{ name }} | {% for s in statuses %}{{ counts[name][s] }} | {% endfor %}

{% endfor %}

| learner | {{ notebooks|join(" | ") }} |
|---|{% for n in notebooks %}---|{% endfor %}

{% for learner, rows in learners.items() %}
| {{ learner }} | {% for n in notebooks %}{{ cell(rows, n) }} | {% endfor %}

{% endfor %}
""")

FEEDBACK = _ENV.from_string("""\
# Feedback for {{ learner }}

{% for r in rows %}
## {{ r.notebook }}: {{ r.status }}

{% if r.checks_total %}
{{ r.checks_passed }} of {{ r.checks_total }} checks passed{% if hidden_total(r) %} ({{ hidden_total(r) }} of them held by your instructor: {{ hidden_passed(r) }} passed){% endif %}.
{% endif %}
{% if r.note %}
{{ r.note }}
{% endif %}
{% if r.error %}

Your code raised in code cell {{ r.error.cell }} (`{{ r.error.title }}`):

```
{{ r.error.ename }}: {{ r.error.evalue }}
```
{% endif %}
{% for c in r.checks if not c.passed and not c.hidden %}

- ✗ {{ c.title }}
  {{ c.message }}
{% if c.expected %}

  Expected:
  ```
{{ c.expected|indent(2, true) }}
  ```
{% endif %}
{% if c.actual %}

  Actual:
  ```
{{ c.actual|indent(2, true) }}
  ```
{% endif %}
{% endfor %}

{% endfor %}
""")

HTML = _HTML_ENV.from_string("""\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Grades: {{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.passed{background:#dff5e1}.failed{background:#fde2e1}.error{background:#fbd0a8}.timeout{background:#f5e0f7}
.missing{background:#eee}.invalid{background:#fff3b0}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;margin:.3em 0}
.hidden-tag{font-size:.8em;background:#555;color:#fff;padding:0 .4em;border-radius:.3em}
section{border-top:2px solid #999;margin-top:2em}
</style></head><body>
<h1>Grades: {{ title }}</h1>
<p>{{ learners|length }} learners, {{ all_passed }} passed everything.</p>
<table><tr><th>learner</th>{% for n in notebooks %}<th>{{ n }}</th>{% endfor %}</tr>
{% for learner, rows in learners.items() %}
<tr><td><a href="#{{ anchor(learner) }}">{{ learner }}</a></td>{% for n in notebooks %}{% set r = find(rows, n) %}
<td class="{{ r.status if r else 'missing' }}">{{ cell(rows, n) }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% for learner, rows in learners.items() %}
<section id="{{ anchor(learner) }}"><h2>{{ learner }}</h2>
{% for r in rows %}
<h3 class="{{ r.status }}">{{ r.notebook }}: {{ r.status }}{% if r.checks_total %}, {{ r.checks_passed }} of {{ r.checks_total }} checks{% endif %}{% if r.seconds %}, {{ "%.1f"|format(r.seconds) }} s{% endif %}</h3>
{% if r.note %}<p>{{ r.note }}</p>{% endif %}
{% if r.error %}
<p>The learner's code raised in code cell {{ r.error.cell }} ({{ r.error.title }}):</p>
<pre class="exception">{{ r.error.ename }}: {{ r.error.evalue }}</pre>
{% if r.error.traceback %}<details><summary>traceback</summary><pre>{{ r.error.traceback }}</pre></details>{% endif %}
<details><summary>the cell</summary><pre>{{ r.error.source }}</pre></details>
{% endif %}
{% set failed = r.checks|rejectattr("passed")|list %}
{% if failed %}
<table><tr><th>check that failed</th><th>message</th><th>expected</th><th>actual</th></tr>
{% for c in failed %}
<tr><td>{% if c.hidden %}<span class="hidden-tag">hidden</span> {% endif %}{{ c.title }}</td><td>{{ c.message }}</td>
<td><pre>{{ c.expected }}</pre></td><td><pre>{{ c.actual }}</pre></td></tr>
{% endfor %}
</table>
{% endif %}
{% endfor %}
</section>
{% endfor %}
</body></html>
""")


def _find(rows: list[NotebookResult], notebook: str) -> NotebookResult | None:
    return next((r for r in rows if r.notebook == notebook), None)


def _cell(rows: list[NotebookResult], notebook: str) -> str:
    r = _find(rows, notebook)
    if r is None:
        return ""
    return f"{r.status} {r.checks_passed}/{r.checks_total}" if r.checks_total else r.status


def _context(results: list[NotebookResult], title: str) -> dict:
    learners = by_learner(results)
    notebooks = _notebooks(results)
    counts = {n: Counter(r.status for r in results if r.notebook == n) for n in notebooks}
    return {"title": title, "learners": learners, "notebooks": notebooks, "statuses": list(STATUSES),
            "counts": {n: {s: c.get(s, 0) for s in STATUSES} for n, c in counts.items()},
            "all_passed": sum(all(r.status == PASSED for r in rows) for rows in learners.values()),
            "cell": _cell, "find": _find, "anchor": lambda name: "learner-" + feedback_name(name),
            "hidden_total": lambda r: sum(c.hidden for c in r.checks),
            "hidden_passed": lambda r: sum(c.hidden and c.passed for c in r.checks)}


def summary_markdown(results: list[NotebookResult], title: str) -> str:
    return SUMMARY.render(**_context(results, title))


def report_html(results: list[NotebookResult], title: str) -> str:
    return HTML.render(**_context(results, title))


def feedback_markdown(rows: list[NotebookResult]) -> str:
    context = _context(rows, "")
    return FEEDBACK.render(learner=rows[0].learner, rows=rows, hidden_total=context["hidden_total"],
                           hidden_passed=context["hidden_passed"])


def write_report(results: list[NotebookResult], out_dir: Path, title: str) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    feedback = out_dir / "feedback"
    feedback.mkdir(exist_ok=True)
    written = [out_dir / "grades.csv", out_dir / "summary.md", out_dir / "report.html"]
    write_csv(results, written[0])
    written[1].write_text(summary_markdown(results, title), encoding="utf-8")
    written[2].write_text(report_html(results, title), encoding="utf-8")
    for learner, rows in by_learner(results).items():
        path = feedback / f"{feedback_name(learner)}.md"
        path.write_text(feedback_markdown(rows), encoding="utf-8")
        written.append(path)
    return written
