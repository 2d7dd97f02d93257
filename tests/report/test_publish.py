"""What every result says about itself (dualrank.report.provenance), the HTML the report shows
inline (dualrank.report.publish), and the report's captions and labels."""

import re
from pathlib import Path

import pytest
from docutils.core import publish_parts

from dualrank.report import provenance, publish

ROOT = Path(__file__).resolve().parents[2]


def test_row_label_states_the_size_trained_not_the_papers():
    demo = {"layers": 2, "hidden": 64}
    assert provenance.row_label("Cross-attention BERT (12-layer)", demo) == "Cross-attention BERT (2-layer × 64-wide)"
    assert provenance.row_label("Dual-encoder BERT (6-layer)", {"layers": 6, "hidden": 768}) == \
        "Dual-encoder BERT (6-layer × 768-wide)"
    assert provenance.row_label("Margin MSE", demo) == "Margin MSE"        # states no size: unchanged
    assert provenance.row_label("BM25", None) == "BM25"


def test_commit_is_unknown_outside_git_and_a_short_hash_inside(tmp_path):
    assert provenance.commit(tmp_path) == "unknown"
    assert re.fullmatch(r"[0-9a-f]{7,}(-dirty)?", provenance.commit(ROOT))


def test_footer_names_preset_files_sizes_seeds_and_std(tmp_path):
    prov = {"preset": "demo", "config_files": ["config.yaml", "workflow/presets/demo.yaml"], "seeds": [0, 1],
            "encoders": {"bert-6-768": {"layers": 2, "hidden": 64}}}
    assert provenance.lines(prov, tmp_path) == [
        "Preset: demo (config.yaml + workflow/presets/demo.yaml)",
        "Encoders (trained sizes): bert-6-768 = 2-layer × 64-wide", "Seeds: 0, 1",
        "Spread: mean ± sample std (ddof = 1) over seeds; one seed: no std", "Rendered at commit: unknown"]
    one = provenance.lines({**prov, "seeds": [0]}, tmp_path)
    assert one[2:4] == ["Seeds: 0", "Spread: one seed, so no std"]


def test_report_labels_sort_in_the_papers_order():
    names = [f"table{i}" for i in range(1, 13)]
    keys = sorted(names, key=lambda n: tuple(provenance.report_labels(n).values()))
    assert keys == names                                            # table2 before table10
    assert provenance.report_labels("figure4") == {"no.": "04", "result": "Figure 4"}
    with pytest.raises(ValueError, match="not a result name"):
        provenance.report_labels("all")


MD = """**Table 9**

| Strategy | train MRR@10 | dev MRR@10 |
|---|---|---|
| Baseline <DE> \\| tied | 0.300 ± 0.010 | 0.200 |
| **bold** row | N/A | 0.1 |

Cells: ours, one seed & more.

*Preset: demo*{BR}
*Rendered at commit: unknown*
""".format(BR="  ")


def test_html_is_the_markdown_table_escaped():
    html = publish.to_html(MD, "Table 9")
    assert "<h2>Table 9</h2>" in html
    assert "<th>Strategy</th><th>train MRR@10</th><th>dev MRR@10</th>" in html
    # \\| is a bar; cells of numbers stay on one line (class num)
    assert '<td>Baseline &lt;DE&gt; | tied</td><td class="num">0.300 ± 0.010</td><td class="num">0.200</td>' in html
    assert '<td><strong>bold</strong> row</td><td class="num">N/A</td>' in html
    assert "<p>Cells: ours, one seed &amp; more.</p>" in html
    assert '<p class="footer"><em>Preset: demo</em><br>\n<em>Rendered at commit: unknown</em></p>' in html
    assert html.count("<tr>") == 3 and "mailto" not in html and "---" not in html


def test_finish_table_adds_title_and_footer_once(tmp_path):
    md, html, about = tmp_path / "t.md", tmp_path / "t.html", tmp_path / "t.about.txt"
    md.write_text("| A | B |\n|---|---|\n| 1 | 2 |\n")
    text = publish.finish_table({"name": "table5", "title": "Table 5", "provenance": {"preset": "ci", "seeds": [0]}},
                                md, html, about, where=tmp_path)
    assert text.startswith("**Table 5**\n\n| A | B |") and text.count("*Preset: ci*") == 1
    assert md.read_text() == text and "<title>Table 5</title>" in html.read_text()
    assert about.read_text().splitlines()[:2] == ["Table 5", "Preset: ci"]


@pytest.mark.parametrize("caption", sorted(p for p in (ROOT / "workflow" / "report").glob("*.rst")
                                            if p.name != "workflow.rst"),  # Jinja: the front page test
                         ids=lambda p: p.name)
def test_captions_render_without_mail_links(caption):
    """docutils (what `snakemake --report` renders captions with) reads a bare MRR@10 as an
    e-mail address; every caption escapes it."""
    html = publish_parts(caption.read_text().replace("{{ snakemake.params.caption }}", ""),
                         writer="html")["body"]
    assert "mailto" not in html


def test_caption_facts_render_without_mail_links_and_name_the_sizes():
    prov = {"preset": "demo", "config_files": ["config.yaml", "workflow/presets/demo.yaml"], "seeds": [0],
            "encoders": {"bert-6-768": {"layers": 2, "hidden": 64}}}
    html = publish_parts(provenance.caption(prov), writer="html")["body"]
    assert "mailto" not in html and "bert-6-768 = 2-layer × 64-wide" in html and "no band" in html


@pytest.mark.parametrize("preset", [None, "workflow/presets/demo.yaml"])
def test_report_front_page_describes_the_configuration(preset):
    """workflow/report/workflow.rst as `snakemake --report` renders it (Jinja with trim_blocks and
    lstrip_blocks, then docutils): seeds, paper or not, and each encoder's size or checkpoint."""
    import yaml
    from jinja2 import Environment
    from snakemake.utils import update_config

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    if preset:
        update_config(config, yaml.safe_load((ROOT / preset).read_text()))

    class Snakemake:
        pass

    Snakemake.config = config
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(
        (ROOT / "workflow/report/workflow.rst").read_text()).render(snakemake=Snakemake, categories=[])
    html = publish_parts(text, writer="html", settings_overrides={"report_level": 2, "halt_level": 2})["body"]
    assert "mailto" not in html and "does not include the claims" in html  # no Claims category here
    assert f"Seeds: {', '.join(map(str, config['seeds']))};" in html and html.count("<li>") == len(config["encoders"])
    if preset:
        assert "<li>bert-6-768: 2-layer × 64-wide, trained from scratch</li>" in html and "not the paper" in html
    else:
        assert "<li>bert-base: pre-trained bert-base-uncased</li>" in html and "published values beside ours" in html
