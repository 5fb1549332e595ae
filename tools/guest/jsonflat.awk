# Flatten a JSON document into one "path<TAB>value" line per scalar, for busybox sh.
#   {"a": {"b": [1, "x"]}}  ->  .a.b[0]<TAB>1  and  .a.b[1]<TAB>x
# Strings are unescaped (\n and \t become spaces so a value stays on one line);
# null prints as an empty value; empty objects and arrays print nothing.
# With -v raw=1, \n, \t, \r and \\ stay escaped (decode with printf '%b'), so a
# multi-line value (a deployment's script) survives on its one line.
# Written for busybox awk (POSIX awk with local variables as extra parameters).

function skip_ws() {
    while (P <= L && index(" \t\r\n", substr(S, P, 1)) > 0)
        P++
}

function parse_string(    out, c, n, rest, k) {
    P++
    out = ""
    while (P <= L) {
        rest = substr(S, P)
        k = match(rest, /["\\]/)
        if (k == 0) {
            P = L + 1
            return out rest
        }
        out = out substr(rest, 1, k - 1)
        P += k - 1
        c = substr(S, P, 1)
        if (c == "\"") {
            P++
            return out
        }
        n = substr(S, P + 1, 1)
        if (raw && index("ntr\\", n) > 0) out = out "\\" n
        else if (n == "n" || n == "t" || n == "r") out = out " "
        else if (n == "u") { out = out "?"; P += 4 }
        else if (n == "b" || n == "f") out = out ""
        else out = out n
        P += 2
    }
    return out
}

function parse_value(path,    c, lit, k) {
    skip_ws()
    c = substr(S, P, 1)
    if (c == "{") parse_object(path)
    else if (c == "[") parse_array(path)
    else if (c == "\"") print path "\t" parse_string()
    else {
        k = match(substr(S, P), /[],} \t\r\n]/)
        if (k == 0) k = L - P + 2
        lit = substr(S, P, k - 1)
        P += k - 1
        if (lit == "null") lit = ""
        print path "\t" lit
    }
}

function parse_object(path,    c, key) {
    P++
    skip_ws()
    if (substr(S, P, 1) == "}") { P++; return }
    while (P <= L) {
        skip_ws()
        key = parse_string()
        skip_ws()
        P++
        parse_value(path "." key)
        skip_ws()
        c = substr(S, P, 1)
        P++
        if (c != ",") return
    }
}

function parse_array(path,    c, i) {
    P++
    skip_ws()
    if (substr(S, P, 1) == "]") { P++; return }
    i = 0
    while (P <= L) {
        parse_value(path "[" i "]")
        i++
        skip_ws()
        c = substr(S, P, 1)
        P++
        if (c != ",") return
    }
}

{ S = S $0 "\n" }

END {
    L = length(S)
    P = 1
    parse_value("")
}
