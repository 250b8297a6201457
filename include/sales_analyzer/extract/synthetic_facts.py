"""What the synthetic generator knows of the real train.csv, as data.

The header, the domains and their shares, the date range and seasonality, the product
catalogue by sub-category, customer names, and the places with their real ZIP codes.
Nothing here draws a random number; `synthetic_records` turns these facts into records.
"""

from __future__ import annotations

from datetime import date

HEADER = (
    "Row ID",
    "Order ID",
    "Order Date",
    "Ship Date",
    "Ship Mode",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Country",
    "City",
    "State",
    "Postal Code",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
)
DEFAULT_ROWS = 9800
DEFAULT_START = date(2015, 1, 3)
DEFAULT_END = date(2018, 12, 30)
DATE_FORMAT = "%d/%m/%Y"
MAX_LINES_PER_ORDER = 14
MAX_QUANTITY = 14
# Ship Date is 0..7 days after Order Date.
MAX_SHIP_DAYS = 8

COUNTRY = "United States"
CATEGORY_CODES = {"Furniture": "FUR", "Office Supplies": "OFF", "Technology": "TEC"}
SHIP_MODES = ("Standard Class", "Second Class", "First Class", "Same Day")
SHIP_MODE_P = (0.597, 0.195, 0.153, 0.055)
# Days from order to shipment per ship mode: (fewest days, number of possible values).
SHIP_DELAYS = ((4, 4), (2, 4), (1, 3), (0, 1))
SEGMENTS = ("Consumer", "Corporate", "Home Office")
SEGMENT_P = (0.52, 0.30, 0.18)
# Orders per day by month: slow January/February, busy September and a Nov/Dec peak.
MONTH_WEIGHTS = (0.45, 0.35, 0.85, 0.75, 0.85, 0.80, 0.75, 0.80, 1.55, 0.90, 1.70, 1.60)
YEARLY_GROWTH = 1.2
DISCOUNT_PCT = (0, 10, 15, 20, 30, 40, 45, 50, 60, 70, 80)
DISCOUNT_P = (0.48, 0.02, 0.01, 0.37, 0.03, 0.03, 0.01, 0.01, 0.01, 0.02, 0.01)
CUSTOMERS_PER_ROW = 793 / 9800
# Three customers of 793 have an id with a lower-case second letter (`Dp-13240`, name
# `Dean percer`); their orders hold 43 rows of 9,800.
ODD_CASE_CUSTOMERS = 3 / 793
ODD_CASE_ROWS = 43 / 9800
PRODUCTS = 1861
ROWS_WITH_NBSP = 220 / 9800
NBSP = "\u00a0"
ORDER_PREFIXES = ("CA", "US")
ORDER_PREFIX_P = (0.8, 0.2)

# (category, sub-category, code, rows in the real file, price range in $, brands, items)
SubCategory = tuple[str, str, str, int, float, float, tuple[str, ...], tuple[str, ...]]
SUB_CATEGORIES: tuple[SubCategory, ...] = (
    ("Furniture", "Bookcases", "BO", 226, 40, 1100,
     ("Bush", "Sauder", "O'Sullivan", "Atlantic", "Hon", "Safco"),
     ("Somerset Collection Bookcase", "Classic Cherry Bookcase", "5-Shelf Bookcase",
      "Stackable Bookrack", "Library with Doors", "Heavy-Duty Steel Bookcase")),
    ("Furniture", "Chairs", "CH", 607, 40, 1200,
     ("Hon", "Global", "Office Star", "Novimex", "Harbour Creations", "SAFCO", "Bevis"),
     ("Deluxe Fabric Upholstered Stacking Chairs", "Executive Leather Armchair",
      "Ergonomic Mesh Task Chair", "Bentwood Guest Chair", "Big & Tall Swivel Chair")),
    ("Furniture", "Furnishings", "FU", 931, 2, 300,
     ("Eldon", "Howard Miller", "Tenex", "Advantus", "Deflect-o", "Seth Thomas", "DAX"),
     ("Wall Clock", "Chairmat for Carpets", "Picture Frame", "Desk Accessories",
      "Document Frame", "Cubicle Wall Art")),
    ("Furniture", "Tables", "TA", 314, 60, 1300,
     ("Bretford", "Chromcraft", "Hon", "Barricks", "Bevis", "KI", "Lesro"),
     ("Rectangular Conference Table", "Round Table", "Training Table", "Utility Table",
      "Computer Desk", "Folding Table")),
    ("Office Supplies", "Appliances", "AP", 459, 8, 900,
     ("Holmes", "Hoover", "Fellowes", "Kensington", "Belkin", "Honeywell", "Eureka"),
     ("Surge Protector", "HEPA Air Cleaner", "Upright Vacuum", "Space Heater",
      "Microwave Oven", "Refrigerator", "Power Strip")),
    ("Office Supplies", "Art", "AR", 785, 1, 60,
     ("Newell", "Sanford", "BIC", "Dixon", "Prismacolor", "Staedtler", "Boston"),
     ("Highlighters", "Colored Pencils", "Pencil Sharpener", "Markers", "Fine Point Pens")),
    ("Office Supplies", "Binders", "BI", 1492, 1, 250,
     ("Avery", "Wilson Jones", "Cardinal", "GBC", "Acco", "Ibico", "Fellowes"),
     ("Durable Slant Ring Binders", "Binding Covers", "Presentation Binder",
      "Round Ring Binders", "Comb Binding Machine", "Clear View Binder")),
    ("Office Supplies", "Envelopes", "EN", 248, 3, 60,
     ("Ames", "Quality Park", "Tyvek", "Globe-Weis", "Jiffy"),
     ("Security-Tint Envelopes", "Catalog Envelopes", "Clasp Envelopes",
      "Peel & Seel Envelopes", "Padded Mailers")),
    ("Office Supplies", "Fasteners", "FA", 214, 1, 25,
     ("Acco", "Advantus", "Alliance", "OIC", "Staples"),
     ("Push Pins", "Binder Clips", "Rubber Bands", "Paper Clips", "Thumb Tacks")),
    ("Office Supplies", "Labels", "LA", 357, 2, 40,
     ("Avery", "Smead", "Dymo", "Brother"),
     ("Address Labels", "File Folder Labels", "Round Labels", "Removable Labels",
      "Shipping Labels")),
    ("Office Supplies", "Paper", "PA", 1338, 3, 40,
     ("Xerox", "Hammermill", "Southworth", "Easy-staple", "Ampad", "Great White", "TOPS"),
     ("Copy Paper", "Message Book", "Recycled Paper", "Laser Paper", "Memo Pads", "Cardstock")),
    ("Office Supplies", "Storage", "ST", 832, 5, 500,
     ("Fellowes", "Eldon", "Tennsco", "Sterilite", "Safco", "Iris", "Rogers"),
     ("Bankers Box Storage", "Stackable Trays", "File Cart", "Steel Shelving",
      "Storage Crate", "Hanging File Box")),
    ("Office Supplies", "Supplies", "SU", 184, 2, 200,
     ("Acme", "Fiskars", "Martin-Yale", "Premier"),
     ("Scissors", "Paper Trimmer", "Letter Opener", "Stapler", "Ruler", "Box Cutter")),
    ("Technology", "Accessories", "AC", 756, 5, 400,
     ("Logitech", "Kingston", "Memorex", "Plantronics", "Microsoft", "SanDisk", "Imation"),
     ("Wireless Mouse", "USB Flash Drive", "Keyboard", "Headset", "Webcam", "Speakers",
      "Color Monitor")),
    ("Technology", "Copiers", "CO", 66, 300, 3500,
     ("Canon", "Hewlett Packard", "Sharp", "Brother"),
     ("Imageclass Copier", "Laser Copier", "Wireless Color Copier", "Digital Copier")),
    ("Technology", "Machines", "MA", 115, 60, 3500,
     ("Okidata", "Zebra", "Cubify", "Lexmark", "StarTech", "Epson", "Cisco"),
     ("Dot Matrix Printer", "Label Printer", "3D Printer", "Inkjet Printer",
      "Receipt Printer", "Network Switch")),
    ("Technology", "Phones", "PH", 876, 10, 1000,
     ("Apple", "Samsung", "Motorola", "Nokia", "Polycom", "Cisco", "Panasonic", "AT&T"),
     ("Smart Phone", "Cordless Phone", "Conference Phone", "IP Phone", "Phone Charger")),
)  # fmt: skip
COMMA_SUFFIXES = (
    ", Black", ", Assorted Colors", ", Rounded Back", ", Letter Size", ", 8 1/2 x 11",
    ", Pack of 12", ", Walnut Finish", ", Gray", ", 2/Pack", ", Recycled",
)  # fmt: skip
INCH_SIZES = ('11"', '13-3/4"', '17"', '24"', '36"', '48"', '60"')
# Two real names, so every catalog holds a quoted comma and a doubled quote.
FIXED_PRODUCTS = {
    "Chairs": "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back",
    "Furnishings": 'Howard Miller 13-3/4" Diameter Brushed Chrome Round Wall Clock',
}

FIRST_NAMES = (
    "Aaron", "Adam", "Alan", "Alice", "Andrew", "Anna", "Barry", "Beth", "Brian", "Carl",
    "Chris", "Claire", "Dan", "Darren", "Dean", "Denise", "Eric", "Erin", "Frank", "Fred",
    "Gary", "Greg", "Hannah", "Harry", "Helen", "Irene", "Jack", "Jane", "Jason", "Joel",
    "Karen", "Ken", "Laura", "Lena", "Linda", "Mark", "Maria", "Matt", "Nancy", "Neil",
    "Olivia", "Pauline", "Pete", "Quincy", "Rachel", "Rick", "Sally", "Sam", "Sean",
    "Steve", "Tamara", "Tom", "Tracy", "Valerie", "Victor", "Wendy", "Xylona", "Yana",
    "Zuschuss",
)  # fmt: skip
LAST_NAMES = (
    "Allen", "Baker", "Bell", "Brooks", "Campbell", "Carter", "Collins", "Cook", "Davis",
    "Dunn", "Edwards", "Evans", "Fisher", "Foster", "Garcia", "Gibson", "Gray", "Hall",
    "Harris", "Hayes", "Hughes", "Jensen", "Johnson", "Kelly", "King", "Knight", "Lee",
    "Lewis", "Martin", "Miller", "Moore", "Murphy", "Nelson", "O'Brien", "O'Neal", "Owens",
    "Parker", "Perry", "Price", "Quinn", "Reed", "Roberts", "Ross", "Sanders", "Scott",
    "Shaw", "Smith", "Stewart", "Taylor", "Turner", "Underwood", "Vance", "Walker",
    "Ward", "Watson", "White", "Young", "Zandusky",
)  # fmt: skip

STATE_REGIONS = {
    **dict.fromkeys(
        ("California", "Washington", "Oregon", "Arizona", "Colorado", "Nevada", "Utah",
         "New Mexico", "Idaho", "Montana", "Wyoming"), "West"),
    **dict.fromkeys(
        ("New York", "Pennsylvania", "Ohio", "New Jersey", "Massachusetts", "Connecticut",
         "Rhode Island", "New Hampshire", "Vermont", "Maine", "Delaware", "Maryland",
         "District of Columbia", "West Virginia"), "East"),
    **dict.fromkeys(
        ("Texas", "Illinois", "Michigan", "Indiana", "Wisconsin", "Minnesota", "Missouri",
         "Iowa", "Nebraska", "Kansas", "Oklahoma", "South Dakota", "North Dakota"), "Central"),
    **dict.fromkeys(
        ("Florida", "North Carolina", "Virginia", "Georgia", "Tennessee", "Kentucky",
         "Alabama", "South Carolina", "Arkansas", "Louisiana", "Mississippi"), "South"),
}  # fmt: skip
# (city, state, postal code, rows per 9,800): real US places, the ZIP codes as they really are.
LOCATIONS = (
    ("New York City", "New York", "10024", 429), ("New York City", "New York", "10035", 358),
    ("New York City", "New York", "10011", 286), ("New York City", "New York", "10009", 200),
    ("Los Angeles", "California", "90036", 358), ("Los Angeles", "California", "90049", 286),
    ("Los Angeles", "California", "90032", 215), ("Los Angeles", "California", "90045", 183),
    ("Philadelphia", "Pennsylvania", "19140", 315), ("Philadelphia", "Pennsylvania", "19143", 258),
    ("Philadelphia", "Pennsylvania", "19134", 189), ("San Francisco", "California", "94110", 286),
    ("San Francisco", "California", "94122", 243), ("San Francisco", "California", "94109", 186),
    ("Seattle", "Washington", "98105", 229), ("Seattle", "Washington", "98103", 215),
    ("Seattle", "Washington", "98115", 166), ("Houston", "Texas", "77095", 186),
    ("Houston", "Texas", "77041", 143), ("Houston", "Texas", "77036", 114),
    ("Houston", "Texas", "77070", 92), ("Chicago", "Illinois", "60623", 172),
    ("Chicago", "Illinois", "60653", 143), ("Chicago", "Illinois", "60610", 126),
    ("Columbus", "Ohio", "43229", 229), ("Columbus", "Georgia", "31907", 86),
    ("San Diego", "California", "92105", 129), ("San Diego", "California", "92037", 114),
    ("Springfield", "Virginia", "22153", 86), ("Springfield", "Missouri", "65807", 73),
    ("Dallas", "Texas", "75220", 129), ("Dallas", "Texas", "75217", 94),
    ("Jacksonville", "Florida", "32216", 179), ("Detroit", "Michigan", "48205", 86),
    ("Detroit", "Michigan", "48227", 79), ("Newark", "Delaware", "19711", 66),
    ("Newark", "Ohio", "43055", 66), ("Jackson", "Mississippi", "39212", 64),
    ("Jackson", "Michigan", "49201", 53), ("Columbia", "South Carolina", "29203", 116),
    ("Richmond", "Virginia", "23223", 116), ("Aurora", "Colorado", "80013", 57),
    ("Aurora", "Illinois", "60505", 40), ("Phoenix", "Arizona", "85023", 90),
    ("Long Beach", "California", "90805", 64), ("Long Beach", "New York", "11561", 23),
    ("Arlington", "Texas", "76017", 50), ("Arlington", "Virginia", "22204", 36),
    ("San Antonio", "Texas", "78207", 84), ("Miami", "Florida", "33142", 80),
    ("Louisville", "Kentucky", "40214", 77), ("Rochester", "New York", "14609", 76),
    ("Charlotte", "North Carolina", "28205", 73), ("Henderson", "Kentucky", "42420", 43),
    ("Henderson", "Nevada", "89015", 30), ("Lakewood", "Ohio", "44107", 34),
    ("Fairfield", "California", "94533", 29), ("Milwaukee", "Wisconsin", "53209", 64),
    ("Fort Lauderdale", "Florida", "33311", 43), ("Concord", "North Carolina", "28027", 29),
    ("Fort Worth", "Texas", "76106", 56), ("Madison", "Wisconsin", "53711", 50),
    ("West Jordan", "Utah", "84084", 17), ("Orem", "Utah", "84057", 21),
    ("Naperville", "Illinois", "60540", 26), ("Eagan", "Minnesota", "55122", 11),
    ("Dover", "Delaware", "19901", 29), ("Troy", "New York", "12180", 36),
    ("Gilbert", "Arizona", "85234", 29), ("Memphis", "Tennessee", "38109", 57),
    ("Decatur", "Alabama", "35601", 29), ("Durham", "North Carolina", "27707", 29),
    ("Minneapolis", "Minnesota", "55407", 43), ("Portland", "Oregon", "97206", 57),
    ("Denver", "Colorado", "80219", 57), ("Atlanta", "Georgia", "30318", 56),
    ("Tampa", "Florida", "33614", 43), ("Las Vegas", "Nevada", "89115", 43),
    ("Tucson", "Arizona", "85705", 43), ("Austin", "Texas", "78745", 43),
    ("New Orleans", "Louisiana", "70119", 43), ("Burlington", "North Carolina", "27217", 21),
    ("Burlington", "Iowa", "52601", 11), ("Wilmington", "Delaware", "19805", 43),
    ("Baltimore", "Maryland", "21215", 29), ("Washington", "District of Columbia", "20016", 14),
    ("Omaha", "Nebraska", "68104", 21), ("Wichita", "Kansas", "67212", 21),
    ("Oklahoma City", "Oklahoma", "73120", 29), ("Sioux Falls", "South Dakota", "57103", 14),
    ("Fargo", "North Dakota", "58103", 11), ("Des Moines", "Iowa", "50315", 14),
    ("Indianapolis", "Indiana", "46203", 29), ("Little Rock", "Arkansas", "72209", 21),
    ("Birmingham", "Alabama", "35244", 14), ("Nashville", "Tennessee", "37211", 29),
    ("Boise", "Idaho", "83704", 11), ("Helena", "Montana", "59601", 7),
    ("Cheyenne", "Wyoming", "82001", 4), ("Albuquerque", "New Mexico", "87105", 14),
    ("Charleston", "West Virginia", "25314", 6), ("Salt Lake City", "Utah", "84106", 14),
    # Every ZIP code of these six states starts with 0, which the real file lost (4-digit
    # codes): Massachusetts 135, New Jersey 122, Connecticut 82, Rhode Island 55, New
    # Hampshire 27 and Maine 8 rows of 9,800.
    ("Springfield", "Massachusetts", "01109", 50), ("Lawrence", "Massachusetts", "01841", 25),
    ("Lowell", "Massachusetts", "01852", 20), ("Cambridge", "Massachusetts", "02138", 20),
    ("Quincy", "Massachusetts", "02169", 20), ("Lakewood", "New Jersey", "08701", 40),
    ("Morristown", "New Jersey", "07960", 25), ("Paterson", "New Jersey", "07501", 22),
    ("Hackensack", "New Jersey", "07601", 20), ("Jersey City", "New Jersey", "07305", 15),
    ("Fairfield", "Connecticut", "06824", 30), ("Bristol", "Connecticut", "06010", 20),
    ("Hamden", "Connecticut", "06518", 17), ("Middletown", "Connecticut", "06457", 15),
    ("Providence", "Rhode Island", "02908", 40), ("Warwick", "Rhode Island", "02886", 15),
    ("Manchester", "New Hampshire", "03103", 20), ("Dover", "New Hampshire", "03820", 7),
    ("Portland", "Maine", "04101", 8),
    # Burlington, Vermont: the real file's 11 rows without a postal code.
    ("Burlington", "Vermont", "", 11),
)  # fmt: skip
