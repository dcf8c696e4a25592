"""The measured shape of the real event files, which the generator reproduces.

Proportions and a catalog of categories, brands and prices measured on the heads of the
public Kaggle / REES46 October and November 2019 files (see datasets/README.md).
"""
from __future__ import annotations

import math

# Counted by hand from the real head 2019-Oct-head.csv (17,434 complete rows,
# 2019-10-01 00:00-02:50 UTC) unless said otherwise.
EMPTY_CODE_SHARE = 0.33       # 5,746 rows (32.96 %) have no category_code
EMPTY_BRAND_CODED = 0.081     # 942 of 11,688 rows with a code have no brand
EMPTY_BRAND_UNCODED = 0.267   # 1,535 of 5,746 rows without one: 2,477 = 14.2 % in all
ZERO_PRICE_SHARE = 0.00109    # 19 rows at 0.00, 15 of them with neither code nor brand
DUP_GROUP_RATE = 3 / 17434    # 3 rows come again verbatim, right after themselves,
DUP_EXTRA = (1, 1, 3)         # with 1, 1 and 3 extra copies (5 extra rows)
SAME_SECOND_CART = 1 / 165    # 1 of 165 carts shares (session, time, product) with its view
REPEAT_VIEW = 0.32            # 31.8 % of later views re-open the previous product
SAME_CATEGORY = 0.82          # 82 % of new products come from the session's category
SESSION_NB = (0.575, 0.212)   # length-1 ~ NegBin: P(1,2,3)=.41/.18/.12 as measured
GAP_MEDIAN_S = (33, 26, 79)   # median seconds before a view / cart / purchase
GAP_SIGMA = 0.95              # log-sd of those gaps (measured 0.97)
# Event mix from the full 2019-Oct.csv (40,779,399 views, 926,516 carts, 742,849
# purchases, as counted in public Spark write-ups): 96.1 / 2.2 / 1.75 %. The 3-hour
# head (97.8 / 0.95 / 1.23 %) is too short for a funnel. Of the head's purchases 31 %
# follow a cart of the product, the rest follow a view: these odds reproduce both.
P_CART = 0.032                # a later event is a cart of the product just seen
P_BUY_AFTER_CART = 0.40
P_BUY_AFTER_VIEW = 0.017 
EVENTS_PER_USER = 12          # assumption: ~4 sessions per user in a month
PRICE_CAP = 2574.07           # the highest price in the real files

# (code, % of all rows in the head, median price, log-sd of price, product_id prefix
# (id // 100000 as in the real file), brands seen with it). The top 48 codes.
CATEGORIES = (
    ("electronics.smartphone", 27.07, 287, 0.83, 10, "samsung apple xiaomi huawei oppo vivo"),
    ("electronics.clocks", 3.22, 165, 1.19, 214, "casio apple samsung xiaomi garmin tissot"),
    ("computers.notebook", 3.20, 597, 0.62, 13, "acer lenovo hp asus apple dell"),
    ("electronics.audio.headphone", 2.31, 71, 1.04, 48, "apple xiaomi elari samsung jbl sony"),
    ("appliances.kitchen.refrigerators", 1.89, 311, 0.60, 27, "indesit lg beko atlant haier dometic"),
    ("appliances.environment.vacuum", 1.57, 117, 0.83, 37, "samsung karcher xiaomi vitek bosch gorenje"),
    ("appliances.environment.air_heater", 1.43, 34, 0.59, 62, "oasis elenberg electrolux ballu timberk midea"),
    ("electronics.video.tv", 1.41, 422, 0.65, 18, "samsung artel lg sony yasin haier"),
    ("auto.accessories.player", 1.41, 72, 0.65, 57, "pioneer jvc nakamichi kenwood swat sony"),
    ("apparel.shoes", 1.31, 90, 0.43, 287, "respect salamander rieker shagovita baden marcomen"),
    ("appliances.kitchen.washer", 1.28, 335, 0.50, 36, "samsung lg indesit beko midea artel"),
    ("apparel.shoes.keds", 1.10, 72, 0.40, 286, "respect strobbs adidas asics nike nexpero"),
    ("electronics.telephone", 1.00, 26, 0.61, 88, "nokia texet bq inoi panasonic prestigio"),
    ("furniture.living_room.cabinet", 0.83, 283, 0.42, 147, "sv brw bts"),
    ("auto.accessories.alarm", 0.77, 121, 0.42, 60, "starline tomahawk centurion pandora cenmax alligator"),
    ("appliances.kitchen.meat_grinder", 0.73, 72, 0.56, 32, "bosch redmond moulinex elenberg dauscher polaris"),
    ("furniture.living_room.sofa", 0.73, 541, 0.36, 172, "rals imperial divalux"),
    ("computers.desktop", 0.67, 617, 0.81, 14, "pulser acer hp lenovo netechnics dxracer"),
    ("furniture.bedroom.bed", 0.64, 155, 0.68, 132, "sv brw bts polini lorelli romack"),
    ("accessories.bag", 0.57, 64, 0.87, 284, "karya baden rivacase lenovo xiaomi continent"),
    ("appliances.kitchen.microwave", 0.53, 86, 0.65, 29, "samsung elenberg lg gorenje ava horizont"),
    ("appliances.environment.water_heater", 0.52, 99, 0.49, 39, "ariston thermex artel haier teploross aqua"),
    ("electronics.audio.subwoofer", 0.50, 102, 0.67, 58, "pride pioneer alpine hertz mystery sony"),
    ("appliances.iron", 0.50, 28, 0.71, 38, "tefal redmond scarlett elenberg philips vitek"),
    ("appliances.kitchen.blender", 0.49, 54, 0.52, 31, "redmond polaris braun vitek panasonic elenberg"),
    ("sport.bicycle", 0.48, 268, 1.11, 122, "giant axis phoenix torrent stels sunday"),
    ("kids.carriage", 0.45, 118, 0.53, 70, "belecoo wingoffly alis chicco lorelli coballe"),
    ("auto.accessories.videoregister", 0.44, 142, 0.71, 47, "sho-me ibox prestigio neoline xiaomi anytek"),
    ("construction.tools.drill", 0.44, 82, 0.73, 123, "bosch makita crown alteco dewalt total"),
    ("electronics.tablet", 0.41, 384, 0.99, 12, "apple samsung prestigio huawei wacom bq"),
    ("appliances.environment.air_conditioner", 0.40, 197, 0.48, 42, "elenberg tcl almacom atlantic mdv midea"),
    ("construction.tools.saw", 0.38, 113, 0.90, 192, "huter stihl makita bosch alteco dewalt"),
    ("appliances.kitchen.oven", 0.34, 55, 0.80, 25, "artel elenberg asel bosch shivaki hansa"),
    ("computers.components.videocards", 0.33, 315, 0.79, 67, "palit asus gigabyte powercolor msi sinotex"),
    ("appliances.sewing_machine", 0.33, 235, 0.95, 50, "janome bernina jaguar brother elna"),
    ("appliances.kitchen.kettle", 0.33, 36, 0.83, 63, "tefal dauscher maxwell elenberg panasonic polaris"),
    ("appliances.kitchen.hood", 0.32, 69, 0.54, 24, "artel turbo turboair midea zorg dauscher"),
    ("appliances.kitchen.mixer", 0.29, 33, 1.04, 109, "polaris scarlett elenberg bosch panasonic dauscher"),
    ("furniture.kitchen.table", 0.26, 116, 0.82, 168, "bts sv domini ersport brw halmar"),
    ("computers.peripherals.monitor", 0.26, 107, 0.86, 17, "samsung qmax acer lg asus dell"),
    ("appliances.kitchen.grill", 0.24, 113, 0.50, 126, "redmond tefal delonghi maxwell vitek"),
    ("construction.tools.welding", 0.24, 201, 0.79, 300, "magnetta denzel laston huter redbo fubag"),
    ("furniture.kitchen.chair", 0.22, 57, 0.68, 167, "zeta shenma joie barneo mamadoma sv"),
    ("computers.peripherals.printer", 0.21, 136, 0.47, 15, "epson hp canon samsung"),
    ("computers.components.hdd", 0.20, 40, 0.42, 68, "kingston transcend crucial apacer gigabyte hp"),
    ("construction.tools.pump", 0.20, 64, 0.65, 277, "leo magnetta alteco greenpro pedrollo"),
    ("appliances.kitchen.dishwasher", 0.20, 386, 0.27, 46, "bosch beko dauscher indesit hansa midea"),
    ("kids.toys", 0.18, 23, 0.83, 89, "chicco orange silverlit alilo fancy rastar"),
)
# Rows without a code: median price 78, log-sd 1.26; their usual brands and
# product_id prefixes.
UNCODED_BRANDS = (
    "lucente xiaomi cordiant bosch triangle dauscher nokian sony artel sokolov yokohama "
    "stels luminarc gerat samsung skad force redmond vitek sv polaris bars janome philips "
    "viatti kipardo omron svc gipfel bridgestone brw omabelle bts karcher granhel maxxis "
    "aeroforce matador scarlett creed shiseido tarkett"
).split()
UNCODED_PREFIXES = (127, 264, 26, 227, 262, 173, 151, 131, 51, 53, 281, 152, 263, 260,
                    315, 41, 43, 180, 85, 255, 31, 35, 45, 100, 230)
UNCODED_CATEGORIES = 150
CATALOG_PRODUCTS = 30_000
CATALOG_SEED = 20191001       # the catalog is the same store whatever `seed` says
CHUNK_ROWS = 100_000          # events per block: bounds memory, amortises numpy calls


# --------------------------------------------------------------------------- the catalog

def catalog(quirks: bool):
    """A fixed store: products grouped by category, with popularity and CSV text.

    Returns (cdf, cat_lo, cat_hi, cat_cdf, segments, seg_len, zero, no_brand, no_code)
    where the product columns are numpy arrays and `segments` is an (n, width)
    uint8 table of "product_id,category_id,category_code,brand,price," padded.
    """
    import numpy as np

    rng = np.random.default_rng(CATALOG_SEED)
    coded_total = sum(c[1] for c in CATEGORIES)
    cats = []  # (code, weight, median, sigma, prefix, brands, brandless propensity)
    for code, pct, median, sigma, prefix, brands in CATEGORIES:
        top = code.split(".")[0]
        # Real rows without brand bunch up in furniture and soft goods.
        lean = {"furniture": 20.0, "apparel": 3.0, "accessories": 3.0, "kids": 3.0,
                "construction": 3.0}.get(top, 0.2 if top in ("electronics", "computers") else 1.0)
        cats.append((code, pct / coded_total * (1 - EMPTY_CODE_SHARE), median, sigma,
                     prefix, brands.split(), lean))
    zipf = 1.0 / np.arange(2, UNCODED_CATEGORIES + 2)
    for w in zipf / zipf.sum() * EMPTY_CODE_SHARE:
        k = int(rng.integers(3, 7))
        brands = [UNCODED_BRANDS[j] for j in rng.choice(len(UNCODED_BRANDS), k, replace=False)]
        median = 78 * math.exp(0.9 * rng.standard_normal())
        cats.append(("", float(w), median, 0.8, int(rng.choice(UNCODED_PREFIXES)), brands, 1.0))

    weights = np.array([c[1] for c in cats])
    sizes = np.maximum(20, np.round(weights ** 0.6 / (weights ** 0.6).sum() * CATALOG_PRODUCTS)).astype(int)
    next_serial: dict[int, int] = {}
    pid, cat_of, pw, price, brand, lean = [], [], [], [], [], []
    cat_ids = []
    for c, (code, w, median, sigma, prefix, brands, bl) in enumerate(cats):
        # 19-digit ids like 2053013555631882655; a few newer ones start 2.17e18.
        base = 2172371436436455782 if not code and rng.random() < 0.1 else 2053013552226107603
        cat_ids.append(base + int(rng.integers(0, 14_000_000_000)))
        n = int(sizes[c])
        pop = 1.0 / np.arange(3, n + 3)                   # Zipf popularity within the category
        pw.append(pop / pop.sum() * w)
        serial = next_serial.get(prefix, 1000 + int(rng.integers(0, 900)))
        steps = rng.integers(1, 12, n).cumsum()
        next_serial[prefix] = serial + int(steps[-1]) + 1
        pid.append(prefix * 100_000 + serial + steps)
        cat_of.append(np.full(n, c))
        price.append(np.clip(np.round(median * np.exp(sigma * rng.standard_normal(n)), 2), 0.77, PRICE_CAP))
        bw = np.arange(1, len(brands) + 1) ** -1.3         # first-listed brands are commoner
        brand.append(rng.choice(len(brands), n, p=bw / bw.sum()))
        lean.append(np.full(n, bl))
    pid, cat_of, pw = np.concatenate(pid), np.concatenate(cat_of), np.concatenate(pw)
    price, brand_ix, lean = np.concatenate(price), np.concatenate(brand), np.concatenate(lean)
    no_code = np.array([not c[0] for c in cats])[cat_of]

    def pick(candidates, key, target, cap):
        """Flag candidates in `key` order until their popularity reaches `target`."""
        flags = np.zeros(len(pw), bool)
        order = candidates[np.argsort(key[candidates], kind="stable")]
        order = order[pw[order] <= cap]
        take = np.cumsum(pw[order]) <= target
        flags[order[take]] = True
        return flags

    key = rng.random(len(pw)) / lean
    no_brand = (pick(np.flatnonzero(~no_code), key, EMPTY_BRAND_CODED * (1 - EMPTY_CODE_SHARE), 0.002)
                | pick(np.flatnonzero(no_code), key, EMPTY_BRAND_UNCODED * EMPTY_CODE_SHARE, 0.002))
    zero = pick(np.flatnonzero(no_code & no_brand), rng.random(len(pw)), ZERO_PRICE_SHARE, 0.0002)
    if quirks:
        price = np.where(zero, 0.0, price)
    else:
        zero[:] = False

    text = [
        f"{p},{cat_ids[c]},{cats[c][0]},{'' if nb else cats[c][5][b]},{x:.2f},"
        for p, c, b, nb, x in zip(pid.tolist(), cat_of.tolist(), brand_ix.tolist(),
                                  no_brand.tolist(), price.tolist())
    ]
    segments, seg_len = pad([s.encode() for s in text])
    cdf = np.cumsum(pw)
    cdf /= cdf[-1]
    bounds = np.concatenate([[0.0], cdf])
    starts = np.flatnonzero(np.r_[True, cat_of[1:] != cat_of[:-1]])
    cat_lo, cat_hi = bounds[starts], bounds[np.r_[starts[1:], len(pw)]]
    cat_cdf = np.cumsum(weights) / weights.sum()
    return cdf, cat_lo, cat_hi, cat_cdf, segments, seg_len, zero, no_brand, no_code


def pad(items: list[bytes]):
    """Byte strings -> ((n, width) uint8 table padded with zeros, lengths)."""
    import numpy as np

    width = max(len(b) for b in items)
    table = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in items), np.uint8)
    return table.reshape(len(items), width), np.array([len(b) for b in items], np.int64)


# ---------------------------------------------------------------------------- stream
