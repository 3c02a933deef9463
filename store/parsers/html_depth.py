"""How deep the elements of an HTML document nest, estimated in one linear pass over its tags.

lexbor (the HTML parser under selectolax) takes time quadratic in the nesting depth: for every
block start tag it looks down the stack of open elements for a <p> to close, so 200,000 nested
<div>s take minutes to parse. Report pages nest about 20 deep, so `isw_html` refuses a page
this estimate puts far deeper, before lexbor sees it.

The estimate keeps its own stack of open elements and follows the HTML tree builder's rules
where they decide the depth: end tags close only what the builder would close (a stray `</span>`
does not close the `<div>` above it), start tags close the `<p>`, `<li>`, table cell, ... they
imply the end of, and formatting elements (`<b>`, `<font>`, ...) closed by another element's end
tag still count, as the builder reopens them ("reconstructs the active formatting elements")
around the text that follows. The checks are O(1) (reopening the formatting elements above a
misnested `</b>` is O(their number), bounded by the limit), so the pass is about linear.

It is an estimate: where it simplifies, it errs towards deeper, except for the elements the
builder inserts on its own (<tbody>, <tr>), which make a page up to about twice as deep as
estimated; and a page crafted around rarer error-recovery paths of the builder may still nest
deeper than estimated (checked with random tag soup against lexbor's own trees).
"""

from __future__ import annotations

import re

# A tag's name runs to whitespace, "/" or ">" (so "<div.x>" is no <div>).
_TAG = re.compile(r"<(!--|/?[a-z][^\s/>]*)")

_VOID = frozenset(
    "area base basefont bgsound br col embed frame hr img input keygen link meta param source "
    "track wbr".split()
)
# Their content is text: a "<div>" inside a script is no element.
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed"})
# Opened once whatever the page says; a repeated <body> only adds attributes.
_ROOTS = frozenset({"html", "head", "body"})
_FOREIGN = frozenset({"svg", "math"})  # SVG and MathML: no HTML rules, "<x/>" really closes
# HTML start tags that end SVG / MathML content (a <font> only with color, face or size).
_BREAKOUT = frozenset(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img "
    "li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul "
    "var".split()
)
_FONT_BREAKOUT = re.compile(r"\s(?:color|face|size)\s*=")
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
# The builder's "special" elements: an end tag never closes anything across them, except its own.
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button caption "
    "center col colgroup dd details dialog dir div dl dt embed fieldset figcaption figure footer "
    "form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img input keygen li "
    "link listing main marquee menu meta nav noembed noframes noscript object ol p param "
    "plaintext pre script search section select source style summary table tbody td template "
    "textarea tfoot th thead title tr track ul wbr xmp".split()
)
_SCOPE = frozenset("applet caption html table td th marquee object template".split())
_BUTTON_SCOPE = _SCOPE | {"button"}
_LIST_SCOPE = _SCOPE | {"ol", "ul"}
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_TABLE_PARTS = frozenset("caption table tbody td tfoot th thead tr".split())
_LI_BARRIER = _SPECIAL - {"address", "div", "p", "li"}
_DD_BARRIER = _SPECIAL - {"address", "div", "p", "dd", "dt"}
# Start tags that close an open <p> (in button scope).
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5 h6 "
    "pre listing form li dd dt plaintext hr xmp".split()
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Formatting elements the builder reopens are cleared at these (table cells and the like).
_MARKERS = frozenset({"applet", "object", "marquee", "template", "td", "th", "caption"})

_CATEGORIES = {
    "special": _SPECIAL,
    "scope": _SCOPE,
    "button": _BUTTON_SCOPE,
    "list": _LIST_SCOPE,
    "table": _TABLE_SCOPE,
    "li": _LI_BARRIER,
    "dd": _DD_BARRIER,
    "foreign": _FOREIGN,
}


def nesting_depth(text: str, limit: int) -> int:
    """The estimated deepest nesting of elements in `text`; stops counting once past `limit`."""
    return _Estimate(limit).run(text)


class _Estimate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stack: list[tuple[str, str]] = []  # (name, the tag as written) of open elements
        self.where: dict[str, list[int]] = {}  # name -> stack positions of the open ones
        # category -> stack positions of the open elements in it (its last is the nearest)
        self.category: dict[str, list[int]] = {name: [] for name in (*_CATEGORIES, "plain")}
        self.categories_of: dict[str, tuple[str, ...]] = {}
        # Stack positions of elements closed where they stand, under elements that stay open
        # (see close_in_place); they no longer count, and are dropped when popped.
        self.dead: set[int] = set()
        # Formatting elements closed implicitly, which the builder will reopen: (name, the tag
        # as written), None once closed by their own end tag; and the list's length at each
        # open marker.
        self.reopened: list[tuple[str, str] | None] = []
        self.reopened_by_name: dict[str, list[int]] = {}
        self.reopened_live = 0
        self.marks: list[int] = []
        self.deepest = 0

    def run(self, text: str) -> int:
        lowered = text.lower()
        pos = 0
        while self.deepest <= self.limit and (match := _TAG.search(lowered, pos)) is not None:
            name = match.group(1)
            if name == "!--":
                end = lowered.find("-->", match.end())
                if end < 0:
                    break
                pos = end + 3
                continue
            close = lowered.find(">", match.end())
            if close < 0:
                break
            pos = close + 1
            if name.startswith("/"):
                self.end_tag(name[1:])
            elif name in _RAW_TEXT:
                end = lowered.find(f"</{name}", pos)
                if end < 0:
                    break
                pos = end
            else:
                self.start_tag(name, lowered[match.start() : close + 1])
        return self.deepest

    # ---- the stack ----------------------------------------------------------------------------

    def nearest(self, name: str) -> int:
        found = self.where.get(name)
        return found[-1] if found else -1

    def nearest_in(self, category: str) -> int:
        found = self.category[category]
        return found[-1] if found else -1

    def push(self, name: str, tag: str) -> None:
        index = len(self.stack)
        self.stack.append((name, tag))
        self.where.setdefault(name, []).append(index)
        for category in self.categories(name):
            self.category[category].append(index)
        if name in _MARKERS:
            self.marks.append(len(self.reopened))
        depth = len(self.stack) - len(self.dead) + self.reopened_live
        if depth > self.deepest:
            self.deepest = depth

    def categories(self, name: str) -> tuple[str, ...]:
        found = self.categories_of.get(name)
        if found is None:
            found = tuple(c for c, names in _CATEGORIES.items() if name in names)
            if name not in _FORMATTING:
                found += ("plain",)
            self.categories_of[name] = found
        return found

    def close_formatting(self, name: str) -> None:
        """`</b>`, or a new `<a>` while one is open: the builder's "adoption agency"."""
        at = self.nearest(name)
        if at < 0:
            self.forget_reopened(name)
        elif at < self.nearest_in("special"):
            pass  # the element is moved below the block above it: the depth stays
        elif at > self.nearest_in("plain"):
            # Only formatting elements above it: it is closed and they are reopened at once,
            # so they stay open (as many times over as they were opened).
            self.close_in_place(at)
        else:
            # It is closed with everything above it, and the formatting elements among those
            # are reopened at once.
            above = [
                entry
                for index, entry in enumerate(self.stack[at + 1 :], at + 1)
                if entry[0] in _FORMATTING and index not in self.dead
            ]
            self.pop_to(at, closed_by_own_end_tag=True, reopen=False)
            for entry in above:
                self.push(*entry)

    def close_in_place(self, index: int) -> None:
        """Close the element at `index` (the nearest of its name) but leave the ones above it
        open. It keeps its place in the categories (as a barrier it only makes the estimate
        deeper)."""
        self.dead.add(index)
        self.where[self.stack[index][0]].pop()

    def pop_to(self, index: int, closed_by_own_end_tag: bool = False, reopen: bool = True) -> None:
        """Pop the elements from the top down to and including the one at `index`; the
        formatting elements among them are reopened later (unless `reopen` is False)."""
        while len(self.stack) > index:
            name, tag = self.stack.pop()
            for category in self.categories(name):
                self.category[category].pop()
            if len(self.stack) in self.dead:
                self.dead.discard(len(self.stack))
                continue
            self.where[name].pop()
            if name in _MARKERS:
                self.clear_reopened(self.marks.pop())
            if (
                reopen
                and name in _FORMATTING
                and not (closed_by_own_end_tag and len(self.stack) == index)
            ):
                self.reopen(name, tag)

    # ---- formatting elements to reopen --------------------------------------------------------

    def reopen(self, name: str, tag: str) -> None:
        # The builder reopens at most three identical ones at a time ("Noah's Ark"), but the
        # copies it reopened earlier can stay open under what follows them ("<p><i>a</p>b"
        # repeated nests deeper and deeper), so every one counts until its own end tag.
        self.reopened_by_name.setdefault(name, []).append(len(self.reopened))
        self.reopened.append((name, tag))
        self.reopened_live += 1

    def forget_reopened(self, name: str) -> None:
        """An end tag for a formatting element that is not open: it is not reopened any more."""
        positions = self.reopened_by_name.get(name)
        if positions and positions[-1] >= (self.marks[-1] if self.marks else 0):
            index = positions.pop()
            entry = self.reopened[index]
            self.reopened[index] = None  # a hole; the list is only ever cut from its end
            if entry is not None:
                self.reopened_live -= 1

    def clear_reopened(self, length: int) -> None:
        while len(self.reopened) > length:
            entry = self.reopened.pop()
            if entry is not None:
                self.reopened_by_name[entry[0]].pop()
                self.reopened_live -= 1

    # ---- tags ---------------------------------------------------------------------------------

    def start_tag(self, name: str, tag: str) -> None:
        foreign = self.nearest_in("foreign")
        if foreign >= 0:
            if name in _BREAKOUT or (name == "font" and _FONT_BREAKOUT.search(tag)):
                self.pop_to(foreign)
            else:
                if not tag.endswith("/>"):
                    self.push(name, tag)
                return
        if name in _VOID or name in _ROOTS:
            return
        if name == "form" and self.where.get("form"):
            return  # a form inside a form is dropped
        if name in _TABLE_PARTS and name != "table" and self.nearest("table") < 0:
            return  # a cell or row outside any table is dropped
        if name in _CLOSES_P and self.nearest("p") > self.nearest_in("button"):
            self.pop_to(self.nearest("p"))
        if name == "li" and self.nearest("li") > self.nearest_in("li"):
            self.pop_to(self.nearest("li"))
        elif name in ("dd", "dt"):
            item = max(self.nearest("dd"), self.nearest("dt"))
            if item > self.nearest_in("dd"):
                self.pop_to(item)
        elif name in ("td", "th", "tr"):
            table = self.nearest_in("table")
            cell = max(self.nearest("td"), self.nearest("th"))
            if cell > table:
                self.pop_to(cell)
            if name == "tr" and self.nearest("tr") > table:
                self.pop_to(self.nearest("tr"))
        elif name in _HEADINGS and self.stack and self.stack[-1][0] in _HEADINGS:
            self.pop_to(len(self.stack) - 1)
        elif name in ("a", "nobr"):
            self.close_formatting(name)  # a new link closes the one still open
        elif name in ("option", "button") and self.stack and self.stack[-1][0] == name:
            self.pop_to(len(self.stack) - 1)
        self.push(name, tag)

    def end_tag(self, name: str) -> None:
        foreign = self.nearest_in("foreign")
        if foreign >= 0 and self.nearest(name) >= foreign:
            self.pop_to(self.nearest(name), closed_by_own_end_tag=True)
            return
        if name in _ROOTS:
            return
        if name in _FORMATTING:
            self.close_formatting(name)
            return
        at = self.nearest(name)
        if at < 0:
            return
        if name == "form":
            # The form is closed, but not what is still open inside it.
            if at > self.nearest_in("scope"):
                self.close_in_place(at)
            return
        if name in _SPECIAL:
            scope = (
                "table"
                if name in _TABLE_PARTS
                else "button"
                if name == "p"
                else "list"
                if name == "li"
                else "scope"
            )
            boundary = self.category[scope]
            # Closed only when no scope boundary lies above it (other than itself).
            if boundary and boundary[-1] > at and self.stack[boundary[-1]][0] != name:
                return
            self.pop_to(at, closed_by_own_end_tag=True)
        elif at > self.nearest_in("special"):
            self.pop_to(at, closed_by_own_end_tag=True)
        # Else a special element is open above it, and the builder ignores the end tag.
