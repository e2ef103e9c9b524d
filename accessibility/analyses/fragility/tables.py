"""The mapping tables of the access axis of the digital-fragility index, with their sources.

Everything the index counts as "a health service", "a main public service", "a place to learn
digital skills" or "a place helping with online procedures" is decided here, in three tables,
and nowhere else. Tests check every entry against the real files (the BPE 2019 counts and the
places of digital mediation): no code or wording is silently unmatched.

**(a) and (b): BPE equipment types.** Codes and labels of INSEE's *Base permanente des
équipements* 2019 (file ``bpe19_ensemble``, dictionary of variables and modalities,
https://www.insee.fr/fr/statistiques/fichier/3568629/bpe19_ensemble_csv.zip; INSEE's BPE 2019
metadata: https://www.insee.fr/fr/metadonnees/source/operation/s1524/processus-statistique).
The index's list of "services publics" is the BPE domain A1 ("Services publics") as a whole.
In BPE 2019 the numbering of A1 is *not* the older one: A115 is the specialised Pôle emploi
network, A119–A121 the DGFIP / DRFIP / DDFIP, A122–A123 the local and partner Pôle emploi
networks, A124–A126 the justice access points and A127 the MSAP. The counts in the file agree
(France: 147 A124 maisons de justice et du droit, 101 A126 CDAD — one per département —,
1,350 A127 MSAP). The D2 specialists are the *médecins spécialistes* of the BPE (liberal
practice: the BPE counts practitioners of the RPPS/Adeli in liberal practice); dentists,
midwives, paramedical and psychology professions (D221–D243) are not medical specialists.

**(c): service wordings of the places of digital mediation.** The ``services`` column of the
national data standard of places of digital mediation, version 0.1.0 (Datactivist and La MedNum
for the ANCT, 4 July 2022, https://github.com/LaMednum/standard-mediation-num, property
``services``), the schema of the regional consolidation of May 2023 and of the conseillers
numériques list: 15 wordings, each mapped to *learn digital skills* (``skills``), *help with
online procedures* (``procedures``) or to neither (``None``: access to a connection or to
equipment, professional integration, entrepreneurship — not "a place of digital information"
in the index's sense). Wordings are compared after :func:`normalise_wording` (case, accents
kept, curly apostrophes straightened, blanks collapsed).

France services (ANCT list) count as places helping with online procedures (their core
mission) and as the index's "maisons de services au public" service; the conseillers
numériques places count through their wordings (all four are skills wordings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = [
    "BPE_SOURCE",
    "WORDINGS_SOURCE",
    "Variable",
    "SUB_INDICES",
    "SUB_INDEX_LABELS",
    "SUB_INDEX_SHORT",
    "ServiceKinds",
    "VARIABLES",
    "variables_of",
    "SPECIALIST_TYPES",
    "BPE_EXCLUDED",
    "BPE_FAMILIES",
    "SKILLS",
    "PROCEDURES",
    "WORDINGS",
    "normalise_wording",
    "classify_services",
    "EXTRA_VARIABLES",
]

#: Where the BPE codes and labels come from.
BPE_SOURCE = (
    "INSEE, Base permanente des équipements 2019, bpe19_ensemble (dictionnaire des variables), "
    "https://www.insee.fr/fr/statistiques/fichier/3568629/bpe19_ensemble_csv.zip"
)
#: Where the service wordings come from.
WORDINGS_SOURCE = (
    "Standard national des lieux de médiation numérique v0.1.0 (Datactivist, La MedNum for the ANCT, "
    "2022-07-04), property 'services', https://github.com/LaMednum/standard-mediation-num"
)

#: The two kinds of places of digital information.
SKILLS = "skills"
PROCEDURES = "procedures"


@dataclass(frozen=True)
class Variable:
    """One variable of the index.

    Attributes
    ----------
    name : str
        Column stem in the outputs (``minutes_<name>``, ``norm_<name>``).
    sub_index : str
        One of :data:`SUB_INDICES`.
    label : str
        French label (maps, docs).
    source : str
        ``bpe`` (commune centres having one of ``codes``), ``sites`` (points of ``kinds``) or
        ``extra`` (a user's commune table).
    codes : tuple of str
        BPE types: the nearest commune having any of them (``bpe``).
    kinds : tuple of str
        Point kinds: ``skills``, ``procedures``, ``france_services`` (``sites``).
    note : str
        What the variable stands for in the index, and any choice made.
    """

    name: str
    sub_index: str
    label: str
    source: str
    codes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    note: str = ""

    @property
    def is_time(self) -> bool:
        """A car time (minutes), as opposed to a user-given share."""
        return self.source != "extra"


#: The sub-indices, in the order of the outputs: three of car times, one of the census shares.
SUB_INDICES: tuple[str, ...] = ("health", "public_services", "digital_help", "isolation")
#: French titles of the sub-indices (maps).
SUB_INDEX_LABELS: Mapping[str, str] = MappingProxyType({
    "health": "éloignement des soins",
    "public_services": "éloignement des principaux services publics",
    "digital_help": "éloignement d'un lieu d'information numérique",
    "isolation": "isolement (75 ans et plus seuls, ménages sans voiture)",
})

#: Short French names of the sub-indices (map titles).
SUB_INDEX_SHORT: Mapping[str, str] = MappingProxyType({
    "health": "soins", "public_services": "services publics", "digital_help": "information numérique",
    "isolation": "isolement",
})

#: Liberal medical specialists of BPE 2019 (D2, "spécialiste en …"). D204 and D205 do not
#: exist in the 2019 nomenclature.
SPECIALIST_TYPES: Mapping[str, str] = MappingProxyType({
    "D202": "Spécialiste en cardiologie",
    "D203": "Spécialiste en dermatologie vénéréologie",
    "D206": "Spécialiste en gastro-entérologie",
    "D207": "Spécialiste en psychiatrie",
    "D208": "Spécialiste en ophtalmologie",
    "D209": "Spécialiste en oto-rhino-laryngologie",
    "D210": "Spécialiste en pédiatrie",
    "D211": "Spécialiste en pneumologie",
    "D212": "Spécialiste en radiodiagnostic et imagerie médicale",
    "D213": "Spécialiste en stomatologie",
    "D214": "Spécialiste en gynécologie (médicale et/ou obstétrique)",
})

_PS = "public_services"
#: Every variable, in output order.
VARIABLES: tuple[Variable, ...] = (
    # (a) far from health care
    Variable("emergency", "health", "urgences", "bpe", ("D106",), note="D106 Urgences"),
    Variable("gp", "health", "médecin généraliste", "bpe", ("D201",), note="D201 Médecin généraliste"),
    Variable("specialist", "health", "médecin spécialiste libéral", "bpe", tuple(SPECIALIST_TYPES),
             note="nearest commune having at least one of the 11 BPE 2019 specialist types D202-D214"),
    # (b) far from the main public services (BPE domain A1)
    Variable("police", _PS, "police", "bpe", ("A101",), note="A101 Police"),
    Variable("gendarmerie", _PS, "gendarmerie", "bpe", ("A104",), note="A104 Gendarmerie"),
    Variable("court_of_appeal", _PS, "cour d'appel", "bpe", ("A105",), note="A105 Cour d'appel (CA)"),
    Variable("tgi", _PS, "tribunal de grande instance", "bpe", ("A106",), note="A106 Tribunal de grande instance (TGI)"),
    Variable("ti", _PS, "tribunal d'instance", "bpe", ("A107",), note="A107 Tribunal d'instance (TI)"),
    Variable("prudhommes", _PS, "conseil de prud'hommes", "bpe", ("A108",), note="A108 Conseil de prud'hommes (CPH)"),
    Variable("commercial_court", _PS, "tribunal de commerce", "bpe", ("A109",), note="A109 Tribunal de commerce (TCO)"),
    Variable("pole_emploi", _PS, "Pôle emploi", "bpe", ("A115", "A122", "A123"),
             note="A115 réseau spécialisé, A122 réseau de proximité, A123 réseau partenarial Pôle emploi: "
                  "the nearest of the three networks"),
    Variable("public_finances", _PS, "finances publiques", "bpe", ("A119", "A120", "A121"),
             note="A119 DGFIP, A120 DRFIP, A121 DDFIP: the nearest of the three"),
    Variable("mjd", _PS, "maison de justice et du droit", "bpe", ("A124",), note="A124 Maison de justice et du droit"),
    Variable("justice_antenna", _PS, "antenne de justice", "bpe", ("A125",), note="A125 Antenne de justice"),
    Variable("cdad", _PS, "conseil départemental d'accès au droit", "bpe", ("A126",),
             note="A126 Conseil départemental d'accès au droit (CDAD)"),
    Variable("france_services", _PS, "France services", "sites", kinds=("france_services",),
             note="maisons de services au public, today France services: the ANCT list (not BPE A127 MSAP 2019)"),
    # (c) far from a place of digital information
    Variable("digital_skills", "digital_help", "lieu pour apprendre le numérique", "sites", kinds=(SKILLS,),
             note="places of digital mediation with a skills wording, conseillers numériques places"),
    Variable("online_procedures", "digital_help", "lieu d'aide aux démarches en ligne", "sites", kinds=(PROCEDURES,),
             note="places of digital mediation with a procedures wording, France services"),
    # census shares, from the user (--extra)
    Variable("over75_alone", "isolation", "part des 75 ans et plus vivant seuls", "extra",
             note="INSEE census; given by the user"),
    Variable("no_car", "isolation", "part des ménages sans voiture", "extra", note="INSEE census; given by the user"),
)


def variables_of(sub_index: str) -> tuple[Variable, ...]:
    """The variables of one sub-index, in output order."""
    return tuple(v for v in VARIABLES if v.sub_index == sub_index)


#: The variables read from ``--extra`` and the column names accepted for each.
EXTRA_VARIABLES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "over75_alone": ("over75_alone", "plus_75_seuls", "part_75_seuls", "personnes_75_seules"),
    "no_car": ("no_car", "menages_sans_voiture", "part_sans_voiture", "sans_voiture"),
})

#: BPE 2019 types of the families the index draws from (A1 services publics, D1 health
#: establishments, D2 health professions) that it deliberately does **not** use, with why.
#: With :data:`VARIABLES` they cover every type of those families in the BPE 2019 file
#: (checked by the tests), so a new type cannot slip by unnoticed.
BPE_EXCLUDED: Mapping[str, str] = MappingProxyType({
    "A127": "Maison de services au public (MSAP) 2019: replaced by the ANCT France services list (newer)",
    **{c: "health establishment other than emergency services: not in the index" for c in (
        "D101", "D102", "D103", "D104", "D105", "D107", "D108", "D109", "D110", "D111", "D112", "D113")},
    "D221": "chirurgien dentiste: not a medical specialist",
    "D231": "sage-femme: not a medical specialist",
    **{c: "paramedical profession: not a medical specialist" for c in (
        "D232", "D233", "D235", "D236", "D237", "D238", "D239", "D240", "D241", "D242")},
    "D243": "psychologue: not a medical specialist",
})
#: Prefixes of the BPE families checked for completeness (see :data:`BPE_EXCLUDED`).
BPE_FAMILIES: tuple[str, ...] = ("A1", "D1", "D2")


def normalise_wording(text: str) -> str:
    """A service wording for comparison: NFC, lower case, straight apostrophes, single blanks.

    Examples
    --------
    >>> normalise_wording("  S’équiper en  matériel informatique ")
    "s'équiper en matériel informatique"
    """
    t = unicodedata.normalize("NFC", str(text)).replace("\u2019", "'").replace("\u02bc", "'")
    return re.sub(r"\s+", " ", t).strip().lower()


_W = {
    # learn digital skills
    "Prendre en main un smartphone ou une tablette": SKILLS,
    "Prendre en main un ordinateur": SKILLS,
    "Utiliser le numérique au quotidien": SKILLS,
    "Approfondir ma culture numérique": SKILLS,
    "Créer avec le numérique": SKILLS,
    "Promouvoir la citoyenneté numérique": SKILLS,
    "Soutenir la parentalité et l'éducation avec le numérique": SKILLS,
    # help with online procedures
    "Devenir autonome dans les démarches administratives": PROCEDURES,
    "Réaliser des démarches administratives avec un accompagnement": PROCEDURES,
    "Accompagner les démarches de santé": PROCEDURES,
    # neither: not "a place of digital information" in the index's sense
    "Favoriser mon insertion professionnelle": None,
    "Accéder à une connexion internet": None,
    "Accéder à du matériel": None,
    "S'équiper en matériel informatique": None,
    "Créer et développer mon entreprise": None,
}
#: Every wording of the standard (as written there) -> ``skills``, ``procedures`` or None.
WORDINGS: Mapping[str, str | None] = MappingProxyType(_W)
_BY_KEY = {normalise_wording(k): v for k, v in _W.items()}


@dataclass(frozen=True)
class ServiceKinds:
    """What :func:`classify_services` finds in a ``services`` column.

    Attributes
    ----------
    skills, procedures : np.ndarray of bool
        Per row: at least one wording of the kind.
    unmatched : dict wording -> rows
        Wordings not in :data:`WORDINGS` (as written in the file) and how many rows carry each.
    counts : dict wording -> rows
        Every wording met (as written) and how many rows carry it.
    """

    skills: np.ndarray
    procedures: np.ndarray
    unmatched: dict
    counts: dict


def classify_services(services: Iterable, *, sep: str = ";") -> ServiceKinds:
    """Map each row's ``;``-separated service wordings to the two kinds.

    Parameters
    ----------
    services : iterable of str or None
        The ``services`` cells (None/NaN: no service).
    sep : str
        Separator of the wordings in a cell.

    Returns
    -------
    ServiceKinds
        A wording not in :data:`WORDINGS` gives its row no kind and is listed in ``unmatched``.

    Examples
    --------
    >>> k = classify_services(["Prendre en main un ordinateur;Accéder à du matériel", "Nouveau service"])
    >>> k.skills.tolist(), k.procedures.tolist(), k.unmatched
    ([True, False], [False, False], {'Nouveau service': 1})
    """
    cells = list(services)
    n = len(cells)
    skills = np.zeros(n, dtype=bool)
    procedures = np.zeros(n, dtype=bool)
    unmatched: dict[str, int] = {}
    counts: dict[str, int] = {}
    memo: dict[str, tuple[bool, bool, list[str], list[str]]] = {}
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            continue
        cell = str(cell)
        hit = memo.get(cell)
        if hit is None:
            s = p = False
            words, bad = [], []
            for w in cell.split(sep):
                w = re.sub(r"\s+", " ", w).strip()
                if not w or w in words:
                    continue
                words.append(w)
                key = normalise_wording(w)
                if key not in _BY_KEY:
                    bad.append(w)
                    continue
                kind = _BY_KEY[key]
                s |= kind == SKILLS
                p |= kind == PROCEDURES
            hit = memo[cell] = (s, p, words, bad)
        skills[i], procedures[i] = hit[0], hit[1]
        for w in hit[2]:
            counts[w] = counts.get(w, 0) + 1
        for w in hit[3]:
            unmatched[w] = unmatched.get(w, 0) + 1
    return ServiceKinds(skills=skills, procedures=procedures, unmatched=unmatched, counts=counts)
