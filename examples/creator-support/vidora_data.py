"""People, places and calendars of the creator-support example: data for generate.py.

Every name is made up from common given and family names of the region; none is a real
person. Holiday dates are main public holidays of 2026 (several follow the moon or are moved
by decree each year): check the official calendar before copying them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One of the fifteen languages: where its agents sit, when they work, who they are."""

    code: str
    name: str
    timezone: str
    workdays: str  # the local working week
    weekend: str
    country: str  # two letters, names the holiday calendar
    whatsapp: str  # WhatsApp's code for template languages
    given: tuple[str, ...]
    family: tuple[str, ...]
    family_first: bool = False  # name order of the region
    holidays: tuple[str, ...] = ()


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "America/New_York", "mon-fri", "sat,sun", "us", "en_US",
             _names("Emily, Marcus, Olivia, Jamal, Hannah, Tyler, Grace, Andre, Megan, Connor, "
                    "Brianna"),
             _names("Carter, Brooks, Bennett, Hayes, Coleman, Reed, Foster, Price, Sullivan, "
                    "Jenkins, Walsh"),
             holidays=("2026-01-01", "2026-01-19", "2026-05-25", "2026-07-03", "2026-09-07",
                       "2026-11-26", "2026-12-25")),
    Language("es", "Spanish", "America/Mexico_City", "mon-fri", "sat,sun", "mx", "es_MX",
             _names("Valentina, Diego, Ximena, Santiago, Fernanda, Emiliano, Renata, Mateo, "
                    "Camila, Leonardo, Daniela"),
             _names("Hernández, Ramírez, Torres, Flores, Mendoza, Castillo, Ortega, Vargas, "
                    "Morales, Guzmán, Rojas"),
             holidays=("2026-01-01", "2026-02-02", "2026-03-16", "2026-05-01", "2026-09-16",
                       "2026-11-16", "2026-12-25")),
    Language("pt", "Portuguese", "America/Sao_Paulo", "mon-fri", "sat,sun", "br", "pt_BR",
             _names("Ana Clara, João Pedro, Larissa, Gustavo, Beatriz, Rafael, Mariana, Thiago, "
                    "Juliana, Felipe, Letícia"),
             _names("Oliveira, Santos, Souza, Lima, Pereira, Carvalho, Almeida, Ribeiro, Costa, "
                    "Gomes, Martins"),
             holidays=("2026-01-01", "2026-02-16..2026-02-17", "2026-04-03", "2026-04-21",
                       "2026-05-01", "2026-09-07", "2026-10-12", "2026-11-02", "2026-11-20",
                       "2026-12-25")),
    Language("fr", "French", "Europe/Paris", "mon-fri", "sat,sun", "fr", "fr",
             _names("Camille, Julien, Léa, Antoine, Manon, Hugo, Chloé, Théo, Inès, Maxime, "
                    "Sarah"),
             _names("Lefèvre, Moreau, Girard, Fontaine, Mercier, Rousseau, Lambert, Bonnet, "
                    "Faure, Chevalier, Garnier"),
             holidays=("2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14",
                       "2026-05-25", "2026-07-14", "2026-11-11", "2026-12-25")),
    Language("de", "German", "Europe/Berlin", "mon-fri", "sat,sun", "de", "de",
             _names("Lena, Jonas, Mia, Felix, Laura, Lukas, Sophie, Tim, Johanna, Niklas, "
                    "Katharina"),
             _names("Schneider, Fischer, Weber, Wagner, Becker, Hoffmann, Schäfer, Koch, "
                    "Richter, Klein, Wolf"),
             holidays=("2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14",
                       "2026-05-25", "2026-10-03", "2026-12-25..2026-12-26")),
    Language("it", "Italian", "Europe/Rome", "mon-fri", "sat,sun", "it", "it",
             _names("Giulia, Alessandro, Chiara, Matteo, Francesca, Lorenzo, Sara, Davide, "
                    "Martina, Simone, Elena"),
             _names("Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, "
                    "Greco, Bruno"),
             holidays=("2026-01-01", "2026-01-06", "2026-04-06", "2026-04-25", "2026-05-01",
                       "2026-06-02", "2026-08-15", "2026-12-08", "2026-12-25..2026-12-26")),
    Language("ru", "Russian", "Europe/Moscow", "mon-fri", "sat,sun", "ru", "ru",
             _names("Anastasia, Dmitri, Ekaterina, Alexei, Olga, Ivan, Polina, Sergei, Daria, "
                    "Nikolai, Yulia"),
             _names("Ivanova, Smirnov, Kuznetsova, Popov, Sokolova, Lebedev, Kozlova, Novikov, "
                    "Morozova, Volkov, Pavlova"),
             holidays=("2026-01-01..2026-01-08", "2026-02-23", "2026-03-09", "2026-05-01",
                       "2026-05-11", "2026-06-12", "2026-11-04")),
    Language("tr", "Turkish", "Europe/Istanbul", "mon-fri", "sat,sun", "tr", "tr",
             _names("Elif, Mehmet, Zeynep, Emre, Ayşe, Burak, Selin, Can, Deniz, Kerem, Ebru"),
             _names("Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Aydın, Öztürk, Arslan, Doğan, "
                    "Koç"),
             holidays=("2026-01-01", "2026-03-20..2026-03-22", "2026-04-23", "2026-05-01",
                       "2026-05-19", "2026-05-27..2026-05-30", "2026-07-15", "2026-10-29")),
    Language("ar", "Arabic", "Asia/Riyadh", "sun-thu", "fri,sat", "sa", "ar",
             _names("Noura, Faisal, Lama, Abdullah, Reem, Khalid, Haya, Omar, Dana, Yousef, "
                    "Maha"),
             _names("Al-Qahtani, Al-Harbi, Al-Otaibi, Al-Dosari, Al-Shehri, Al-Ghamdi, "
                    "Al-Zahrani, Al-Mutairi, Al-Anazi, Al-Shammari, Al-Subaie"),
             holidays=("2026-02-22", "2026-03-19..2026-03-23", "2026-05-25..2026-05-29",
                       "2026-09-23")),
    Language("hi", "Hindi", "Asia/Kolkata", "mon-fri", "sat,sun", "in", "hi",
             _names("Priya, Arjun, Ananya, Rohan, Kavya, Vikram, Sneha, Aditya, Pooja, Karan, "
                    "Neha"),
             _names("Sharma, Verma, Iyer, Gupta, Nair, Reddy, Patel, Mehta, Joshi, Kapoor, Rao"),
             holidays=("2026-01-26", "2026-03-04", "2026-08-15", "2026-10-02", "2026-11-08")),
    Language("th", "Thai", "Asia/Bangkok", "mon-fri", "sat,sun", "th", "th",
             _names("Ploy, Nattapong, Siriporn, Thanawat, Kanya, Somchai, Pimchanok, Anan, "
                    "Malee, Kittisak, Waraporn"),
             _names("Srisuk, Chaiyaporn, Wongsawat, Rattanakorn, Boonmee, Saetang, Thongchai, "
                    "Kaewmanee, Phromsri, Sukprasert, Jantarasri"),
             holidays=("2026-01-01", "2026-04-06", "2026-04-13..2026-04-15", "2026-05-01",
                       "2026-07-28", "2026-08-12", "2026-10-13", "2026-12-07", "2026-12-10",
                       "2026-12-31")),
    Language("id", "Indonesian", "Asia/Jakarta", "mon-fri", "sat,sun", "id", "id",
             _names("Putri, Budi, Siti, Agus, Dewi, Rizky, Ayu, Fajar, Indah, Dimas, Ratna"),
             _names("Santoso, Wijaya, Saputra, Hidayat, Lestari, Pratama, Kusuma, Nugroho, "
                    "Rahmawati, Setiawan, Halim"),
             holidays=("2026-01-01", "2026-02-17", "2026-03-20..2026-03-24", "2026-05-01",
                       "2026-05-27", "2026-06-01", "2026-08-17", "2026-12-25")),
    Language("zh", "Chinese", "Asia/Shanghai", "mon-fri", "sat,sun", "cn", "zh_CN",
             _names("Yuqing, Hao, Xinyi, Jun, Meiling, Zhiwei, Jiayi, Bo, Xiaoyu, Lei, Ting"),
             _names("Zhang, Wang, Liu, Chen, Yang, Zhao, Huang, Zhou, Wu, Xu, Sun"),
             family_first=True,
             holidays=("2026-01-01", "2026-02-16..2026-02-22", "2026-04-06",
                       "2026-05-01..2026-05-05", "2026-06-19", "2026-10-01..2026-10-07")),
    Language("ja", "Japanese", "Asia/Tokyo", "mon-fri", "sat,sun", "jp", "ja",
             _names("Haruto, Yui, Sota, Aoi, Ren, Hina, Yuto, Sakura, Kaito, Mei, Riku"),
             _names("Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura, "
                    "Kobayashi, Kato, Yoshida"),
             family_first=True,
             holidays=("2026-01-01..2026-01-03", "2026-01-12", "2026-02-11", "2026-02-23",
                       "2026-03-20", "2026-04-29", "2026-05-03..2026-05-06", "2026-07-20",
                       "2026-08-11", "2026-09-21..2026-09-23", "2026-10-12", "2026-11-03",
                       "2026-11-23")),
    Language("ko", "Korean", "Asia/Seoul", "mon-fri", "sat,sun", "kr", "ko",
             _names("Minjun, Seoyeon, Jihoon, Jiwoo, Hyunwoo, Soyeon, Dohyun, Yuna, Jaemin, "
                    "Eunji, Sungmin"),
             _names("Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Han"),
             family_first=True,
             holidays=("2026-01-01", "2026-02-16..2026-02-18", "2026-03-02", "2026-05-05",
                       "2026-05-25", "2026-08-17", "2026-09-24..2026-09-26", "2026-10-05",
                       "2026-10-09", "2026-12-25")),
)

GENRES: tuple[tuple[str, str], ...] = (
    ("gaming", "Gaming"), ("music", "Music"), ("education", "Education"),
    ("lifestyle", "Lifestyle & beauty"), ("sports", "Sports"), ("comedy", "Comedy"),
    ("news", "News & politics"), ("tech", "Science & tech"), ("food", "Food & cooking"),
)


@dataclass(frozen=True)
class Site:
    """An office of the follow-the-sun teams; its day shift is long enough that the three
    sites overlap in every season, summer time or not."""

    id: str
    city: str
    timezone: str
    day: str


SITES: tuple[Site, ...] = (
    Site("tokyo", "Tokyo", "Asia/Tokyo", "07:00-17:00"),
    Site("berlin", "Berlin", "Europe/Berlin", "08:00-18:00"),
    Site("newyork", "New York", "America/New_York", "10:00-20:00"),
)


@dataclass(frozen=True)
class Specialist:
    """An agent of a specialist team: name, languages, office, the team and the crew."""

    name: str
    languages: tuple[str, ...]
    site: str
    team: str
    crew: str  # "weekdays" or "weekends" for round-the-clock teams, "office" otherwise
    supervisor: bool = False


def _s(name: str, languages: str, site: str, team: str, crew: str = "weekdays") -> Specialist:
    return Specialist(name, tuple(languages.split()), site, team, crew,
                      supervisor=team == "supervisors")


SPECIALISTS: tuple[Specialist, ...] = (
    _s("Kenji Mori", "ja en", "tokyo", "frontline"),
    _s("Mei Lin Tan", "zh en", "tokyo", "frontline"),
    _s("Arif Rahman", "id en", "tokyo", "frontline", "weekends"),
    _s("Sofia Lindqvist", "en de", "berlin", "frontline"),
    _s("Karim Haddad", "ar fr en", "berlin", "frontline"),
    _s("Marta Nowak", "en de ru", "berlin", "frontline", "weekends"),
    _s("Lucía Romero", "es en", "newyork", "frontline"),
    _s("Daniel Okafor", "en fr", "newyork", "frontline"),
    _s("Bianca Ferreira", "pt en es", "newyork", "frontline", "weekends"),
    _s("Hiroshi Kimura", "ja en", "tokyo", "supervisors"),
    _s("Seo Ji-eun", "ko en", "tokyo", "supervisors", "weekends"),
    _s("Anke Vogel", "de en", "berlin", "supervisors"),
    _s("Pierre Dubois", "fr en", "berlin", "supervisors", "weekends"),
    _s("Rachel Goldberg", "en es", "newyork", "supervisors"),
    _s("Carlos Medina", "es pt en", "newyork", "supervisors", "weekends"),
    _s("Yuki Hayashi", "ja en", "tokyo", "trust-safety"),
    _s("Lim Wei Jie", "zh en", "tokyo", "trust-safety", "weekends"),
    _s("Elena Petrova", "ru en de", "berlin", "trust-safety"),
    _s("Selin Aksoy", "tr en de", "berlin", "trust-safety", "weekends"),
    _s("Jordan Ellis", "en", "newyork", "trust-safety"),
    _s("Amara Nwosu", "en fr", "newyork", "trust-safety", "weekends"),
    _s("Tobias Krüger", "de en", "berlin", "payouts", "office"),
    _s("Aylin Kaplan", "tr de en", "berlin", "payouts", "office"),
    _s("Nicole Alvarez", "es en", "newyork", "payouts", "office"),
    _s("Samuel Brandt", "en de", "newyork", "payouts", "office"),
    _s("Clara Moretti", "it en fr", "berlin", "copyright", "office"),
    _s("Ethan Park", "en ko", "newyork", "copyright", "office"),
    _s("Gabriela Souza", "pt en es", "newyork", "copyright", "office"),
    _s("Sakura Ono", "ja en", "tokyo", "partner-managers", "office"),
    _s("Lucas Martin", "fr en", "berlin", "partner-managers", "office"),
    _s("Olivia Grant", "en", "newyork", "partner-managers", "office"),
    _s("Rahul Menon", "hi en", "newyork", "partner-managers", "office"),
)

# Words that mark a conversation for trust & safety, in the languages that use spaces
# between words (keywords match whole words).
SAFETY_KEYWORDS: tuple[str, ...] = (
    "hacked", "impersonation", "impersonating", "stalking", "threat", "threats", "doxxing",
    "self-harm", "gehackt", "bedroht", "piraté", "usurpation", "hackeado", "hackeada",
    "amenaza", "hackerato", "minaccia", "взломали", "угрозы", "hacklendi", "tehdit",
    "diretas", "ancaman",
)
PAYOUT_KEYWORDS: tuple[str, ...] = (
    "payout", "payment", "earnings", "tax form", "pago", "pagamento", "paiement",
    "auszahlung", "выплата", "ödeme", "pembayaran",
)
COPYRIGHT_KEYWORDS: tuple[str, ...] = (
    "copyright", "content id", "dmca", "takedown", "derechos de autor", "direitos autorais",
    "droits d'auteur", "urheberrecht", "авторские права", "telif",
)
