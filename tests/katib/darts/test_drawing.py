from xml.etree import ElementTree

from katib.darts.drawing import genotype_html
from katib.darts.genotype import parse_genotype

GENOTYPE = (
    "Genotype(normal=[[('max_pooling_3x3',0),('skip_connection',1)],[('separable_convolution_3x3',0),"
    "('skip_connection',2)]],normal_concat=range(2,4),reduce=[[('avg_pooling_3x3',0),"
    "('dilated_convolution_3x3',1)],[('max_pooling_3x3',2),('skip_connection',1)]],reduce_concat=range(2,4))"
)


def _svgs(page: str) -> list[ElementTree.Element]:
    parts = page.split("<svg")[1:]
    return [ElementTree.fromstring("<svg" + part.split("</svg>")[0] + "</svg>") for part in parts]


def test_both_cells_are_drawn_with_one_labelled_edge_per_kept_operation():
    page = genotype_html(GENOTYPE)
    normal, reduce = _svgs(page)
    ns = "{http://www.w3.org/2000/svg}"
    # 2 nodes x 2 kept edges + 2 edges into the output, per cell
    assert len(normal.findall(f"{ns}line")) == 6 and len(reduce.findall(f"{ns}line")) == 6
    labels = [t.text for t in normal.findall(f"{ns}text")]
    assert "separable_convolution_3x3" in labels and "c_{k-2}" in labels and "c_{k}" in labels


def test_a_genotype_without_reduction_cell_draws_one_cell():
    normal_only = parse_genotype(GENOTYPE.split(",reduce=")[0] + ",reduce=[],reduce_concat=[])")
    assert len(_svgs(genotype_html(normal_only))) == 1
