"""A corpus of small, realistic lead sheets in the encodings Excel and people save them in.

Each :class:`CorpusSheet` is a few rows (3 to 40) of names, phone numbers, cities and notes in
one language mix, written as CSV the way Excel writes it (CRLF, quotes where needed, ``;``
in the European locales, tabs for "Unicode Text") and saved in one encoding. Generated from a
fixed seed, so every run tests the same bytes; ``rows`` is the exact text a reader must give
back.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
from dataclasses import dataclass

HEADER = ("Name", "Phone", "City", "Notes")

HEBREW = {
    "names": [
        "נועה כהן",
        "דני לוי",
        "יוסי מזרחי",
        "מיכל אברהם",
        "אביגיל פרץ",
        "רון ביטון",
        "שירה דהן",
        "איתי פרידמן",
        "תמר שלום",
        "עומר אזולאי",
        "יעל גבאי",
        "אורי חדד",
        "הילה רוזנברג",
        "משה בן דוד",
        "שרה קליין",
        "גיל אשכנזי",
    ],
    "cities": [
        "תל אביב",
        "ירושלים",
        "חיפה",
        "באר שבע",
        "ראשון לציון",
        "פתח תקווה",
        "אשדוד",
        "נתניה",
        "חולון",
        "רמת גן",
        "קריית שמונה",
        "אילת",
    ],
    "notes": [
        "להתקשר אחרי 17:00",
        "לקוח חוזר",
        "ביקש הצעת מחיר",
        "לא להתקשר בשבת",
        "מעוניין בחבילה המשפחתית",
        "מחיר 250 ₪ לחודש",
        'עובד בבנק לאומי בע"מ',
        "השאיר הודעה – לחזור אליו",
        "",
        "שאל על צ'יפס ומשלוחים",
        "חשבונית נשלחה",
    ],
    "phones": ["052-{a}-{b}", "054{a}{b}", "+972 50 {a} {b}", "03-{a}{b}"],
}
NIQQUD = {
    "names": ["שָׁלוֹם כֹּהֵן", "דָּנִיֵּאל לֵוִי", "מִרְיָם אֶפְרַיִם", "יְהוּדָה"],
    "cities": ["יְרוּשָׁלַיִם", "צְפַת", "טְבֶרְיָה"],
    "notes": ["בְּרָכָה", "לְהִתְקַשֵּׁר מָחָר", ""],
    "phones": HEBREW["phones"],
}
SPANISH = {
    "names": [
        "José García",
        "María Fernández",
        "Íñigo Martínez",
        "Begoña Ruiz",
        "Ángel López",
        "Lucía Sánchez",
        "Raúl Gómez",
        "Sofía Díaz",
        "Andrés Muñoz",
        "Inés Álvarez",
    ],
    "cities": ["Málaga", "Córdoba", "León", "Cádiz", "Logroño", "Ávila", "Jaén", "Madrid"],
    "notes": [
        "Llamar después de las 18h",
        "Cliente nuevo — interesado",
        "Pidió información",
        "No contestó ayer",
        "¿Tiene seguro? Sí",
        "Prefiere WhatsApp",
        "",
    ],
    "phones": ["+34 6{a} {b}", "6{a}{b}", "91 {a} {b}"],
}
FRENCH = {
    "names": [
        "François Müller",
        "Hélène Dubois",
        "Jérôme Lefèvre",
        "Zoë Laurent",
        "Cécile Bézier",
        "Noël Garnier",
        "Anaïs Roux",
        "Gaëlle Mercier",
        "Benoît Girard",
        "Léa Faure",
    ],
    "cities": ["Besançon", "Orléans", "Nîmes", "Genève", "Paris", "Saint-Étienne", "Lyon"],
    "notes": [
        "Rappeler à 14h",
        "Très intéressé",
        "Préfère être appelé le matin",
        "Coût : 120 €",
        "Déjà client chez nous",
        "« Pas disponible » selon sa sœur",
        "",
    ],
    "phones": ["06 {a} {b}", "+33 6 {a} {b}", "01.{a}.{b}"],
}
GERMAN = {
    "names": [
        "Jürgen Schröder",
        "Günther Weiß",
        "Käthe Müller",
        "Björn Krüger",
        "Jörg Bäcker",
        "Ursula Köhler",
        "Sören Groß",
        "Anja Schäfer",
        "Lukas Hoffmann",
        "Maß Öztürk",
    ],
    "cities": ["München", "Köln", "Düsseldorf", "Nürnberg", "Lübeck", "Berlin", "Görlitz"],
    "notes": [
        "Rückruf erwünscht",
        "Größeres Angebot",
        "Straße unbekannt",
        "Hat „keine Zeit“",
        "Termin am Dienstag",
        "Öffnungszeiten beachten",
        "",
    ],
    "phones": ["0151 {a}{b}", "+49 30 {a} {b}", "089/{a}{b}"],
}
PORTUGUESE = {
    "names": [
        "João Gonçalves",
        "Conceição Araújo",
        "Sebastião Magalhães",
        "Luís Brandão",
        "Ana Patrícia",
        "Antônio Simões",
        "Glória Pimentel",
        "Tomé Falcão",
    ],
    "cities": ["São Paulo", "Brasília", "Florianópolis", "Belém", "Lisboa", "Évora", "Maceió"],
    "notes": [
        "Ligar após às 18h",
        "Não atende de manhã",
        "Pediu orçamento",
        "Cliente é médico",
        "Ótimo contato",
        "",
    ],
    "phones": ["+55 11 9{a}-{b}", "(21) 9{a}-{b}", "+351 91 {a} {b}"],
}
ENGLISH_FEW_ACCENTS = {
    "names": [
        "John Smith",
        "Mary Johnson",
        "Robert Brown",
        "Linda Davis",
        "Michael Wilson",
        "Sarah Moore",
        "David Taylor",
        "Emily Clark",
        "James Lewis",
        "Chloé Martin",
        "Zoë Walker",
        "René Hall",
    ],
    "cities": ["Boston", "Denver", "Austin", "Seattle", "Portland", "Chicago"],
    "notes": ["Call after 5pm", "Interested", "Left voicemail", "Renewal due", "", "VIP"],
    "phones": ["(617) {a}-{b}", "+1 303 {a} {b}", "512.{a}.{b}"],
}
ENGLISH = {**ENGLISH_FEW_ACCENTS, "names": [n for n in ENGLISH_FEW_ACCENTS["names"] if n.isascii()]}
RUSSIAN = {
    "names": [
        "Иван Петров",
        "Мария Смирнова",
        "Алексей Кузнецов",
        "Ольга Попова",
        "Дмитрий Соколов",
        "Наталья Лебедева",
        "Сергей Козлов",
        "Юлия Новикова",
        "Екатерина Морозова",
        "Андрей Волков",
        "Фёдор Щукин",
        "Элла Яковлева",
    ],
    "cities": [
        "Москва",
        "Санкт-Петербург",
        "Новосибирск",
        "Екатеринбург",
        "Казань",
        "Нижний Новгород",
        "Ростов-на-Дону",
        "Уфа",
    ],
    "notes": [
        "Перезвонить после обеда",
        "Просил не звонить в выходные",
        "Интересуется тарифом «Премиум»",
        "Адрес: ул. Ленина, д. 5, кв. 12",
        "Не ответил",
        "Ждёт звонка №2",
        "",
    ],
    "phones": ["+7 916 {a}-{b}", "8 (495) {a}-{b}", "89{a}{b}"],
}
UKRAINIAN = {
    "names": [
        "Олександр Шевченко",
        "Ірина Коваленко",
        "Юрій Бондаренко",
        "Наталія Ткаченко",
        "Олексій Кравченко",
        "Євген Мельник",
        "Ґанна Олійник",
        "Їжак Савченко",
    ],
    "cities": ["Київ", "Львів", "Харків", "Одеса", "Дніпро", "Запоріжжя", "Ужгород"],
    "notes": [
        "Передзвонити у п’ятницю",
        "Зацікавлений у пропозиції",
        "Не відповідає",
        "Ґанок біля під’їзду",
        "",
    ],
    "phones": ["+380 67 {a} {b}", "067{a}{b}"],
}
BULGARIAN = {
    "names": [
        "Георги Иванов",
        "Мария Петрова",
        "Димитър Николов",
        "Цветелина Стоянова",
        "Калоян Христов",
        "Ъгълина Тодорова",
        "Петър Йорданов",
    ],
    "cities": ["София", "Пловдив", "Варна", "Бургас", "Стара Загора", "Русе"],
    "notes": ["Да се обади след 17 ч.", "Иска оферта", "Възрастен клиент", "Няма връзка", ""],
    "phones": ["+359 88 {a} {b}", "0888 {a}{b}"],
}
ARABIC = {
    "names": [
        "محمد أحمد",
        "فاطمة الزهراء",
        "عبد الله حسن",
        "مريم خالد",
        "يوسف إبراهيم",
        "نور الهدى علي",
        "خديجة سعيد",
        "عمر فاروق",
        "ليلى منصور",
        "طارق عبد الرحمن",
    ],
    "cities": ["القاهرة", "الرياض", "دبي", "عمّان", "بيروت", "الدار البيضاء", "جدة"],
    "notes": [
        "الاتصال بعد الساعة الخامسة",
        "عميل جديد",
        "يرجى عدم الاتصال يوم الجمعة",
        "طلب عرض سعر",
        "مهتمّ جداً",
        "",
    ],
    "phones": ["+966 5{a} {b}", "+20 10 {a} {b}", "05{a}{b}"],
}
MAGHREB = {  # windows-1256 holds the French letters too: Arabic names, French notes
    "names": ["محمد بناني", "فاطمة العلوي", "يوسف التازي", "Hélène Benjelloun", "Noël Amrani"],
    "cities": ["Fès", "Meknès", "الرباط", "Salé", "طنجة"],
    "notes": ["Rappeler après 18h", "Très intéressée", "عميل قديم", ""],
    "phones": ["+212 6{a} {b}", "06{a}{b}"],
}


@dataclass(frozen=True)
class CorpusSheet:
    """One file of the corpus: its rows, and how it is saved."""

    name: str
    encoding: str  # the Python codec that writes it (utf-8-sig and utf-16 write a BOM)
    rows: tuple[tuple[str, ...], ...]  # header first
    delimiter: str = ","

    def text(self) -> str:
        """The CSV text, as Excel writes it (CRLF line ends, minimal quoting)."""
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n").writerows(self.rows)
        return out.getvalue()

    def data(self) -> bytes:
        """The file's bytes."""
        return self.text().encode(self.encoding)


def _rows(seed: int, count: int, *languages: dict[str, list[str]]) -> tuple[tuple[str, ...], ...]:
    """``count`` lead rows drawing each field from one of ``languages`` (seeded)."""
    rng = random.Random(seed)
    rows = [HEADER]
    for _ in range(count):
        lang = rng.choice(languages)
        phone = rng.choice(lang["phones"]).format(
            a=f"{rng.randint(100, 999)}", b=f"{rng.randint(1000, 9999)}"
        )
        rows.append(
            (
                rng.choice(lang["names"]),
                phone,
                rng.choice(lang["cities"]),
                rng.choice(lang["notes"]),
            )
        )
    return tuple(rows)


def _mostly_ascii(seed: int, count: int, accented: list[str]) -> tuple[tuple[str, ...], ...]:
    """English rows; only the names in ``accented`` carry non-ASCII letters, once each."""
    rows = list(_rows(seed, count, ENGLISH))
    rng = random.Random(seed)
    for name in accented:
        row = rng.randrange(1, len(rows))
        rows[row] = (name, *rows[row][1:])
    return tuple(rows)


def corpus() -> list[CorpusSheet]:
    """Every sheet of the corpus."""
    sheets = [
        # Unicode: Excel's "CSV UTF-8" (BOM), plain UTF-8, "Unicode Text" (UTF-16 LE, tabs)
        CorpusSheet("utf8-bom-hebrew", "utf-8-sig", _rows(1, 30, HEBREW)),
        CorpusSheet("utf8-multilingual", "utf-8", _rows(2, 40, HEBREW, RUSSIAN, ARABIC, FRENCH)),
        CorpusSheet("utf8-bom-spanish-semicolon", "utf-8-sig", _rows(3, 25, SPANISH), ";"),
        CorpusSheet("utf8-short-russian", "utf-8", _rows(4, 3, RUSSIAN)),
        CorpusSheet("utf8-mostly-ascii", "utf-8", _mostly_ascii(5, 30, ["José Núñez"])),
        CorpusSheet("utf16-unicode-text", "utf-16", _rows(6, 30, HEBREW, ARABIC, GERMAN), "\t"),
        CorpusSheet("utf16-unicode-text-short", "utf-16", _rows(7, 4, HEBREW), "\t"),
        CorpusSheet("utf16-unicode-text-cyrillic", "utf-16", _rows(8, 12, UKRAINIAN), "\t"),
        # Hebrew, windows-1255
        CorpusSheet("cp1255-hebrew", "cp1255", _rows(10, 40, HEBREW)),
        CorpusSheet("cp1255-hebrew-short", "cp1255", _rows(11, 3, HEBREW)),
        CorpusSheet("cp1255-hebrew-niqqud", "cp1255", _rows(12, 10, NIQQUD, HEBREW)),
        CorpusSheet("cp1255-hebrew-names-english", "cp1255", _rows(13, 20, HEBREW, ENGLISH)),
        CorpusSheet("cp1255-hebrew-tabs", "cp1255", _rows(14, 15, HEBREW), "\t"),
        # Western European, windows-1252
        CorpusSheet("cp1252-spanish", "cp1252", _rows(20, 30, SPANISH)),
        CorpusSheet("cp1252-french-semicolon", "cp1252", _rows(21, 30, FRENCH), ";"),
        CorpusSheet("cp1252-german-semicolon", "cp1252", _rows(22, 30, GERMAN), ";"),
        CorpusSheet("cp1252-portuguese", "cp1252", _rows(23, 30, PORTUGUESE), ";"),
        CorpusSheet(
            "cp1252-mixed-western", "cp1252", _rows(24, 40, SPANISH, FRENCH, GERMAN, PORTUGUESE)
        ),
        CorpusSheet(
            "cp1252-mostly-ascii",
            "cp1252",
            _mostly_ascii(25, 40, ["José García", "Zoë Müller", "François Noël"]),
        ),
        CorpusSheet("cp1252-one-name", "cp1252", _mostly_ascii(26, 5, ["Andrés Muñoz"])),
        CorpusSheet("cp1252-short-french", "cp1252", _rows(27, 4, FRENCH), ";"),
        CorpusSheet("cp1252-short-german", "cp1252", _rows(28, 3, GERMAN), ";"),
        CorpusSheet("cp1252-short-portuguese", "cp1252", _rows(29, 5, PORTUGUESE), ";"),
        # Cyrillic, windows-1251
        CorpusSheet("cp1251-russian", "cp1251", _rows(30, 40, RUSSIAN)),
        CorpusSheet("cp1251-ukrainian", "cp1251", _rows(31, 30, UKRAINIAN), ";"),
        CorpusSheet("cp1251-bulgarian", "cp1251", _rows(32, 30, BULGARIAN)),
        CorpusSheet("cp1251-short-russian", "cp1251", _rows(33, 3, RUSSIAN)),
        CorpusSheet("cp1251-short-ukrainian", "cp1251", _rows(34, 4, UKRAINIAN)),
        CorpusSheet("cp1251-names-english", "cp1251", _rows(35, 20, RUSSIAN, ENGLISH)),
        CorpusSheet("cp1251-one-name", "cp1251", _mostly_ascii(36, 5, ["Иван Петров"])),
        # Arabic, windows-1256
        CorpusSheet("cp1256-arabic", "cp1256", _rows(40, 30, ARABIC)),
        CorpusSheet("cp1256-arabic-short", "cp1256", _rows(41, 3, ARABIC)),
        CorpusSheet("cp1256-maghreb-french", "cp1256", _rows(42, 20, MAGHREB), ";"),
        CorpusSheet("cp1256-arabic-tabs", "cp1256", _rows(43, 12, ARABIC), "\t"),
    ]
    for sheet in sheets:  # a corpus sheet that its own encoding cannot hold is a bug here
        codecs.encode(sheet.text(), sheet.encoding)
    return sheets


#: The languages written in each code page, for :func:`short_sheets`.
LANGUAGES = {
    "cp1255": (HEBREW, NIQQUD),
    "cp1252": (SPANISH, FRENCH, GERMAN, PORTUGUESE, ENGLISH_FEW_ACCENTS),
    "cp1251": (RUSSIAN, UKRAINIAN, BULGARIAN),
    "cp1256": (ARABIC, MAGHREB),
}


def short_sheets(per_language: int = 60) -> list[CorpusSheet]:
    """Many tiny sheets (one to five rows, one language each) in each code page: the hard
    cases, where a detector has only a few words to go on."""
    sheets = []
    for codec, languages in LANGUAGES.items():
        for i, language in enumerate(languages):
            for seed in range(per_language):
                rng = random.Random(f"{codec}-{i}-{seed}")
                rows = _rows(rng.randrange(10**6), rng.randint(1, 5), language)
                sheets.append(CorpusSheet(f"short-{codec}-{i}-{seed}", codec, rows))
    return sheets
