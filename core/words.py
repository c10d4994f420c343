"""English words that name a colour, pattern, size, pack or filler rather than a product: one
list for variant detection (``core.text.variants``) and the product types of category-level
mining (``core.rules.levels``)."""

# One word list. It is the union of the two lists that used to disagree (the fine-tuning pairs
# had plain colours, sizes and pack words; the bundles also had patterns such as "retrospot" and
# "polkadot" and units such as "cm"): a word that makes a variant of one product in either place
# makes one in both.
COLOUR_WORDS = frozenset("""
red pink blue green white black ivory cream yellow orange purple gold silver grey gray brown
natural turquoise lilac teal mint beige navy aqua lavender rose copper clear multicolour
multicolor multi colour colours assorted pastel dark light bright
antique vintage polkadot retrospot spotty spot striped stripe floral gingham paisley
scandinavian apple cherry strawberry
""".split())  # colours, then patterns and designs (one product is sold in several)
SIZE_WORDS = frozenset("""
small large medium mini jumbo big giant tiny tall short xl xxl xs s m l x
set sets pack packs piece pieces pc pcs cm mm ml g kg
oz lb lbs fl ct gal qt pt pk ltr litre liter
""".split())  # sizes, pack counts ("set/6", "s/4" -> set, s) and units ("60x40cm" -> x, cm;
# "12 OZ", "2 LB", "64 FL OZ", "12 CT": a grocery catalog's package sizes)
FILLER_WORDS = frozenset("the a and with in of".split())
VARIANT_WORDS = COLOUR_WORDS | SIZE_WORDS | FILLER_WORDS
