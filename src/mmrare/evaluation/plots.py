"""The score report's figures, drawn as SVG with real text so the HTML page can inline them.

Every figure puts the models on the vertical axis as horizontal bars, one panel per track (or per
metric), so model names are read horizontally and never collide however many models are scored; the
figure grows in height with the number of models and stays within a page's width. Each bar carries
its value ("0.00" included, so a score of zero is a visible mark, not a missing bar) and a metric
that does not apply reads "n/a". A legend is drawn only when a figure has more than one series.

Artists a reader (or a browser test) needs to find carry ids: ``<plot>-model-<k>`` (axis label of
model k), ``<plot>-bar-<k>-<panel>``, ``<plot>-value-<k>-<panel>`` and ``<plot>-legend``.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

from mmrare.evaluation.release import TRACKS

# The subsets compared in the full-vs-clean figure, with their legend labels and bar style.
_SUBSETS = {"full": ("Full set", None), "leakage_clean": ("Leakage-clean subset", "////")}
_NAME_CHARS = 28  # longer model names are shortened on the axis (the tables keep them whole)
_MAX_WIDTH_IN = 10.0  # 960 px at 96 dpi: fits a laptop page beside the margins
_PANEL_IN = 1.9


@dataclass(frozen=True)
class Plot:
    """One figure: its file stem (``plot_<name>.svg``), a one-line description and the SVG text."""

    name: str
    title: str
    svg: str


def value(row: dict[str, Any] | None) -> float | None:
    """A summary row's mean, or None when there is none (metric not applicable, no items)."""
    if row is None or row.get("mean") is None:
        return None
    mean = float(row["mean"])
    return None if math.isnan(mean) else mean


def label(mean: float | None) -> str:
    return "n/a" if mean is None else f"{mean:.2f}"


def short_name(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def _colours(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


def _label_width_in(models: list[str]) -> float:
    """Room for the model names on the axis, so the panels can be sized around it."""
    return 0.35 + 0.075 * max((len(short_name(m)) for m in models), default=4)


def _svg(fig: Any, name: str) -> str:
    """The figure as an SVG fragment that can sit inline beside others in one HTML page.

    Every id gets the plot's name as prefix (matplotlib numbers ids per figure, so two inline figures
    would share ``patch_1`` and, worse, clip paths); no date, so the same results give the same bytes.
    """
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    return re.sub(r"(url\(#|href=\"#)([^)\"]+)", lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)


def _bars(ax: Any, models: list[str], colours: list[Any], means: list[float | None],
          rows: list[dict[str, Any] | None], panel: int, xmax: float, *, offset: float = 0.0,
          height: float = 0.7, hatch: str | None = None, series: int = 0) -> None:  # fmt: skip
    """Horizontal bars for one panel, each with its CI (when there is one) and its value written out."""
    for k, (mean, row) in enumerate(zip(means, rows, strict=True)):
        y = k + offset
        suffix = f"{k}-{panel}" if not series else f"{k}-{panel}-{series}"
        if mean is None:
            text = ax.text(0.02 * xmax, y, "n/a", va="center", fontsize=8, color="#666", style="italic")
            text.set_gid(f"value-{suffix}")
            continue
        err = None
        if row is not None and row.get("ci_low") is not None and row.get("ci_high") is not None:
            err = [[max(0.0, mean - row["ci_low"])], [max(0.0, row["ci_high"] - mean)]]
        bar = ax.barh(y, mean, height, color=colours[k], hatch=hatch, edgecolor="white" if hatch else None,
                      xerr=err, ecolor="#333", capsize=2, error_kw={"elinewidth": 0.8})  # fmt: skip
        bar.patches[0].set_gid(f"bar-{suffix}")
        if mean == 0.0:  # a zero-width bar draws nothing: mark the axis so the zero is seen
            ax.plot([0, 0], [y - height / 2, y + height / 2], color=colours[k], linewidth=3)
        end = max(mean, row["ci_high"] if err else mean)
        text = ax.text(end + 0.02 * xmax, y, label(mean), va="center", fontsize=8)
        text.set_gid(f"value-{suffix}")


def _model_axis(ax: Any, models: list[str]) -> None:
    ax.set_yticks(range(len(models)), [short_name(m) for m in models], fontsize=9)
    for k, tick in enumerate(ax.get_yticklabels()):
        tick.set_gid(f"model-{k}")
    ax.set_ylim(len(models) - 0.5, -0.5)  # first model on top


def _x_axis(ax: Any, xmax: float) -> None:
    ax.set_xlim(0, xmax)
    ax.set_xticks([0, 0.5, 1.0] if xmax <= 1.5 else [0, xmax / 2.6, xmax / 1.3])
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _xmax(rows: list[dict[str, Any]]) -> float:
    """Room right of the longest bar (or CI) for its value label."""
    tops = [r["ci_high"] for r in rows if value(r) is not None and r.get("ci_high") is not None]
    return 1.3 * max([1.0, *tops])


def metric_plot(results: dict[str, Any], metric: str, models: list[str]) -> Plot | None:
    """Models x tracks for one metric on the full set: one panel per track, models as bars."""
    import matplotlib.pyplot as plt

    rows = [r for r in results["summary"] if r["metric"] == metric and r["subset"] == "full"]
    if not rows:
        return None
    tracks = [t for t in (*TRACKS, "all") if any(r["track"] == t for r in rows)]
    width = min(_MAX_WIDTH_IN, _label_width_in(models) + _PANEL_IN * len(tracks))
    height = 1.0 + 0.32 * len(models)
    fig, axes = plt.subplots(1, len(tracks), figsize=(width, height), sharey=True, squeeze=False,
                             layout="constrained")  # fmt: skip
    colours = _colours(len(models))
    xmax = _xmax(rows)
    for panel, (ax, track) in enumerate(zip(axes[0], tracks, strict=True)):
        by_model = {r["model"]: r for r in rows if r["track"] == track}
        found = [by_model.get(m) for m in models]
        _bars(ax, models, colours, [value(r) for r in found], found, panel, xmax)
        ax.set_title("all tracks" if track == "all" else track.replace("_", " "), fontsize=9)
        _x_axis(ax, xmax)
    _model_axis(axes[0][0], models)
    confidence = results["provenance"]["settings"]["confidence"]
    title = f"{metric}: full set, mean and {confidence:.0%} CI per track"
    fig.suptitle(title, fontsize=10)
    return Plot(metric, title, _svg(fig, metric))


def subsets_plot(results: dict[str, Any], models: list[str]) -> Plot | None:
    """Every metric over all tracks, the full set beside the leakage-clean subset, per model."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [r for r in results["summary"] if r["track"] == "all" and r["subset"] in _SUBSETS]
    metrics = [m for m in results["provenance"]["metrics"] if any(r["metric"] == m for r in rows)]
    if not metrics:
        return None
    subsets = [s for s in _SUBSETS if any(r["subset"] == s for r in rows)]
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    band = 0.8 / len(subsets)
    width = min(_MAX_WIDTH_IN, _label_width_in(models) + 2.5 * ncols)
    height = 0.9 + nrows * (0.5 + 0.24 * len(subsets) * len(models))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), sharey=True, squeeze=False,
                             layout="constrained")  # fmt: skip
    colours = _colours(len(models))
    xmax = _xmax(rows)
    for panel, ax in enumerate(axes.flat):
        if panel >= len(metrics):
            ax.set_visible(False)
            continue
        metric = metrics[panel]
        for s, subset in enumerate(subsets):
            by_model = {r["model"]: r for r in rows if r["metric"] == metric and r["subset"] == subset}
            found = [by_model.get(m) for m in models]
            offset = (s - (len(subsets) - 1) / 2) * band
            _bars(ax, models, colours, [value(r) for r in found], found, panel, xmax, offset=offset,
                  height=band * 0.9, hatch=_SUBSETS[subset][1], series=s + 1)  # fmt: skip
        ax.set_title(metric, fontsize=9)
        _x_axis(ax, xmax)
    for row in axes:
        _model_axis(row[0], models)
    if len(subsets) > 1:
        # outlined in black, so the key reads as "solid" and "hatched", not as one more model's colour
        handles = [Patch(facecolor="white", edgecolor="#333", hatch=_SUBSETS[s][1], hatchcolor="#333",
                         label=_SUBSETS[s][0]) for s in subsets]  # fmt: skip
        legend = fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9,
                            frameon=False)  # fmt: skip
        legend.set_gid("legend")
    title = " vs ".join(_SUBSETS[s][0].lower() for s in subsets).capitalize() + ", all tracks"
    fig.suptitle(title, fontsize=10)
    return Plot("full_vs_clean", title, _svg(fig, "full_vs_clean"))


def draw(results: dict[str, Any]) -> list[Plot]:
    """One figure per metric and one of the full set against the leakage-clean subset."""
    import matplotlib

    matplotlib.use("Agg")
    models = sorted({r["model"] for r in results["summary"]})
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mmrare", "hatch.color": "white"}):
        plots = [metric_plot(results, metric, models) for metric in results["provenance"]["metrics"]]
        plots.append(subsets_plot(results, models))
    return [p for p in plots if p is not None]
