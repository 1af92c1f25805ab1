"""A tiny ORDO slice for the linking tests, built directly from :class:`Concept` records.

Real ORPHA codes and labels, real shapes (categories above clinical groups above disorders; is_a for
groups, part_of for disorders; a non-rare disorder, an obsolete one, genes with disease-causing
links), but only the classes each rule needs.
"""

from __future__ import annotations

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Concept, EntityType, GeneAssociation, Level, OrdoRelease, Status

DISEASE_CLASS = "ORPHA:377788"  # upper-level ontology class "disease"
RARE_GENETIC = "ORPHA:98053"  # category, classification head
RARE_GASTRO = "ORPHA:97935"  # category, classification head
RARE_TUMOR = "ORPHA:250908"  # category, classification head ("Rare neoplastic disease")
UNDIAGNOSED = "ORPHA:616874"  # "Rare disorder without a determined diagnosis after full investigation"
SIME = "ORPHA:94075"  # category "Severe immune-mediated enteropathy", synonym "Autoimmune enteropathy"
PRIMARY_AIE = "ORPHA:522037"  # disease, part_of SIME
SYNDROMIC_AIE = "ORPHA:522043"  # clinical group, is_a SIME
IPEX = "ORPHA:37042"  # disease, part_of SYNDROMIC_AIE; synonym "IPEX"
AI_ENCEPHALITIS = "ORPHA:622014"  # clinical group "Autoimmune encephalitis", synonym "AIE"
ADRENAL_TUMOR = "ORPHA:100091"  # category "Adrenal/paraganglial tumor"
PPGL = "ORPHA:573163"  # clinical group "Pheochromocytoma-paraganglioma"
NF_PGL = "ORPHA:94080"  # disease "Non-functioning paraganglioma"
HEREDITARY_PPGL = "ORPHA:29072"  # disease "Hereditary pheochromocytoma-paraganglioma"
EDS = "ORPHA:98249"  # clinical group "Ehlers-Danlos syndrome"
HEDS = "ORPHA:285"  # disease "Hypermobile Ehlers-Danlos syndrome", part_of EDS
WILSON = "ORPHA:905"  # disease "Wilson disease"
POMPE = "ORPHA:365"  # disease "Glycogen storage disease due to acid maltase deficiency", syn "... type II"
ALPHA_THAL = "ORPHA:846"  # disease "Alpha-thalassemia"
TNF_TRAPS = (
    "ORPHA:32960"  # disease "Tumor necrosis factor receptor 1 associated periodic syndrome", syn TNF-α
)
MPS = "ORPHA:579"  # disease "Mucopolysaccharidosis type 1"
LEMIERRE = "ORPHA:137839"  # disease "Lemierre syndrome"
MARFAN = "ORPHA:558"  # disease "Marfan syndrome"
BASD = "ORPHA:485631"  # clinical group "Congenital bile acid synthesis defect"
BASD1 = "ORPHA:79301"  # disease "Congenital bile acid synthesis defect type 1"
CELIAC = "ORPHA:555"  # non rare in Europe
OBSOLETE_AIE2 = "ORPHA:103916"  # obsolete, replaced by SYNDROMIC_AIE
HSD3B7_GENE = "ORPHA:409995"
FBN1_GENE = "ORPHA:121752"
SDHD_GENE = "ORPHA:123557"  # disease-causing in two disorders: no gene-deficiency target
CHARGE = "ORPHA:138"  # disease "CHARGE syndrome"; synonym acronym "CHARGE"
WAS = "ORPHA:906"  # disease "Wiskott-Aldrich syndrome"; acronym synonym "WAS" (an everyday word)

RELEASE = OrdoRelease("4.2-slice", None, "0" * 64, None, "linking-slice")


def concept(
    code: str,
    label: str,
    *,
    synonyms: tuple[str, ...] = (),
    entity_type: EntityType = EntityType.DISEASE,
    level: Level = Level.DISORDER,
    status: Status = Status.ACTIVE,
    non_rare: bool = False,
    is_a: tuple[str, ...] = (),
    part_of: tuple[str, ...] = (),
    replaced_by: str | None = None,
    symbol: str | None = None,
) -> Concept:
    """A Concept with defaults for everything a linking rule does not look at."""
    return Concept(
        code=code,
        label=label,
        entity_type=entity_type,
        level=level,
        status=status,
        non_rare=non_rare,
        definition=None,
        synonyms=synonyms,
        xrefs=(),
        is_a=is_a,
        part_of=part_of,
        replaced_by=replaced_by,
        obsolescence_reason=None,
        symbol=symbol,
    )


def _category(
    code: str, label: str, *, synonyms: tuple[str, ...] = (), is_a: tuple[str, ...] = ()
) -> Concept:
    return concept(
        code, label, synonyms=synonyms, entity_type=EntityType.CATEGORY, level=Level.GROUP, is_a=is_a
    )


def _group(code: str, label: str, *, synonyms: tuple[str, ...] = (), is_a: tuple[str, ...] = ()) -> Concept:
    return concept(
        code, label, synonyms=synonyms, entity_type=EntityType.CLINICAL_GROUP, level=Level.GROUP, is_a=is_a
    )


def _gene(code: str, label: str, symbol: str) -> Concept:
    return concept(code, label, entity_type=EntityType.GENE, level=Level.GENE, symbol=symbol)


def slice_concepts() -> list[Concept]:
    return [
        concept(DISEASE_CLASS, "disease", entity_type=EntityType.ONTOLOGY_CLASS, level=Level.ONTOLOGY),
        _category(RARE_GENETIC, "Rare genetic disease"),
        _category(RARE_GASTRO, "Rare gastroenterologic disease"),
        _category(RARE_TUMOR, "Rare neoplastic disease", synonyms=("Rare tumor",)),
        concept(
            UNDIAGNOSED,
            "Rare disorder without a determined diagnosis after full investigation",
            part_of=(RARE_GENETIC,),
        ),
        _category(
            SIME,
            "Severe immune-mediated enteropathy",
            synonyms=("Autoimmune enteropathy",),
            is_a=(RARE_GASTRO,),
        ),
        concept(PRIMARY_AIE, "Primary autoimmune enteropathy", part_of=(SIME,)),
        _group(SYNDROMIC_AIE, "Syndromic autoimmune enteropathy", is_a=(SIME,)),
        concept(
            IPEX,
            "Immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome",
            synonyms=("IPEX", "Autoimmune enteropathy type 1"),
            part_of=(SYNDROMIC_AIE, RARE_GENETIC),
        ),
        _group(AI_ENCEPHALITIS, "Autoimmune encephalitis", synonyms=("AIE",), is_a=(RARE_GENETIC,)),
        _category(ADRENAL_TUMOR, "Adrenal/paraganglial tumor", is_a=(RARE_TUMOR,)),
        _group(PPGL, "Pheochromocytoma-paraganglioma", is_a=(ADRENAL_TUMOR,)),
        concept(
            NF_PGL,
            "Non-functioning paraganglioma",
            synonyms=("Non-secreting paraganglioma",),
            part_of=(PPGL,),
        ),
        concept(
            HEREDITARY_PPGL,
            "Hereditary pheochromocytoma-paraganglioma",
            synonyms=("Familial pheochromocytoma-paraganglioma",),
            part_of=(PPGL, RARE_GENETIC),
        ),
        _group(EDS, "Ehlers-Danlos syndrome", synonyms=("EDS",), is_a=(RARE_GENETIC,)),
        concept(
            HEDS,
            "Hypermobile Ehlers-Danlos syndrome",
            synonyms=("Ehlers-Danlos syndrome, hypermobility type",),
            part_of=(EDS,),
        ),
        concept(
            WILSON, "Wilson disease", synonyms=("Hepatolenticular degeneration",), part_of=(RARE_GENETIC,)
        ),
        concept(
            POMPE,
            "Glycogen storage disease due to acid maltase deficiency",
            synonyms=("Glycogen storage disease type II", "Pompe disease"),
            part_of=(RARE_GENETIC,),
        ),
        concept(ALPHA_THAL, "Alpha-thalassemia", part_of=(RARE_GENETIC,)),
        concept(
            TNF_TRAPS,
            "Tumor necrosis factor receptor 1 associated periodic syndrome",
            synonyms=("TNF-alpha receptor associated periodic syndrome",),
            part_of=(RARE_GENETIC,),
        ),
        concept(MPS, "Mucopolysaccharidosis type 1", synonyms=("MPS1",), part_of=(RARE_GENETIC,)),
        concept(LEMIERRE, "Lemierre syndrome", synonyms=("Postanginal sepsis",), part_of=(RARE_GENETIC,)),
        concept(MARFAN, "Marfan syndrome", part_of=(RARE_GENETIC,)),
        concept(CHARGE, "CHARGE syndrome", synonyms=("CHARGE",), part_of=(RARE_GENETIC,)),
        concept(WAS, "Wiskott-Aldrich syndrome", synonyms=("WAS",), part_of=(RARE_GENETIC,)),
        _group(BASD, "Congenital bile acid synthesis defect", synonyms=("BASD",), is_a=(RARE_GENETIC,)),
        concept(
            BASD1,
            "Congenital bile acid synthesis defect type 1",
            synonyms=("3-beta-hydroxy-delta-5-C27-steroid oxidoreductase deficiency", "BASD1"),
            part_of=(BASD,),
        ),
        concept(
            CELIAC, "Celiac disease", entity_type=EntityType.DISORDER, status=Status.NON_RARE, non_rare=True
        ),
        concept(
            OBSOLETE_AIE2,
            "OBSOLETE: Autoimmune enteropathy type 2",
            entity_type=EntityType.DISORDER,
            status=Status.OBSOLETE,
            replaced_by=SYNDROMIC_AIE,
        ),
        _gene(
            HSD3B7_GENE,
            "hydroxy-delta-5-steroid dehydrogenase, 3 beta- and steroid delta-isomerase 7",
            "HSD3B7",
        ),
        _gene(FBN1_GENE, "fibrillin 1", "FBN1"),
        _gene(SDHD_GENE, "succinate dehydrogenase complex subunit D", "SDHD"),
    ]


def slice_genes() -> list[GeneAssociation]:
    causing = "disease-causing germline mutation(s) in"
    return [
        GeneAssociation(HSD3B7_GENE, BASD1, causing, "ORPHA:317343"),
        GeneAssociation(FBN1_GENE, MARFAN, causing, "ORPHA:317343"),
        GeneAssociation(SDHD_GENE, HEREDITARY_PPGL, causing, "ORPHA:317343"),
        GeneAssociation(SDHD_GENE, NF_PGL, causing, "ORPHA:317343"),
    ]


def slice_index() -> OrdoIndex:
    return OrdoIndex(RELEASE, slice_concepts(), slice_genes())
