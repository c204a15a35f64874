from xml.etree import ElementTree

from components.evaluate.report import learning_curves_html


def test_learning_curves_draw_one_line_per_metric():
    history = [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4},
        {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.7, "val_accuracy": 0.7},
    ]
    page = learning_curves_html(history)
    assert page.count("<polyline") == 4
    for svg in page.split("<svg")[1:]:
        ElementTree.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed


def test_names_are_escaped_and_empty_history_is_explained():
    assert "&lt;b&gt;" in learning_curves_html([{"epoch": 1, "loss": 1.0}], title="<b>")
    assert "No epochs" in learning_curves_html([])
