import CkptSupport
import Foundation

/// One self-contained HTML file (no network, no external script or style) showing a text's
/// attention: a person picks a layer and a head (or the heads' mean) and sees the heatmap and, as in
/// bertviz's head view, lines from each token to the tokens it attends to, their opacity the weight;
/// pointing at a token keeps only its lines. `#layer=L&head=H` (H a number or `mean`) in the address
/// selects on load. The page states the strongest link of the selection in `#status`.
public struct AttentionPage: Sendable {
    public let view: AttentionView
    public let tokens: [String]
    public let title: String

    public init(view: AttentionView, tokens: [String], title: String) {
        precondition(tokens.count == view.length, "AttentionPage: one token per position")
        (self.view, self.tokens, self.title) = (view, tokens, title)
    }

    /// The data the page's script reads: tokens and [layers][heads][T][T] weights (6 decimals).
    var data: String {
        let T = view.length
        func map(_ l: Int, _ h: Int) -> String {
            let values = Array(view.map(layer: l, head: h))
            return "[" + (0..<T).map { q in "[" + values[(q * T)..<((q + 1) * T)].map { weight($0) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        }
        let attention = "[" + (0..<view.layers).map { l in "[" + (0..<view.heads).map { map(l, $0) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        let tokenList = "[" + tokens.map { JSON.string($0).compactText }.joined(separator: ",") + "]"
        // "</" could end the script element early.
        return #"{"tokens":\#(tokenList),"layers":\#(view.layers),"heads":\#(view.heads),"attention":\#(attention)}"#
            .replacingOccurrences(of: "</", with: "<\\/")
    }

    private func weight(_ x: Float) -> String {
        let r = (Double(x) * 1e6).rounded() / 1e6
        return r == 0 ? "0" : String(r)
    }

    /// The HTML document.
    public var html: String {
        let stops = (0...8).map { Colour.viridis(Double($0) / 8).hex }.map { "\"\($0)\"" }.joined(separator: ",")
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(xmlEscaped(title))</title>
        <style>
        body { font-family: sans-serif; margin: 16px; color: #222; }
        .controls { margin-bottom: 12px; }
        .controls label { margin-right: 16px; }
        .panels { display: flex; gap: 32px; align-items: flex-start; flex-wrap: wrap; }
        #lines text { cursor: pointer; font-size: 13px; }
        #heatmap text { font-size: 11px; }
        #status { margin-top: 12px; }
        </style>
        </head>
        <body>
        <h1 style="font-size: 18px">\(xmlEscaped(title))</h1>
        <div class="controls">
        <label>Layer <select id="layer"></select></label>
        <label>Head <select id="head"></select></label>
        </div>
        <div class="panels">
        <svg id="lines" xmlns="http://www.w3.org/2000/svg"></svg>
        <svg id="heatmap" xmlns="http://www.w3.org/2000/svg"></svg>
        </div>
        <p id="status"></p>
        <script id="attention-data" type="application/json">\(data)</script>
        <script>
        "use strict";
        const data = JSON.parse(document.getElementById("attention-data").textContent);
        const stops = [\(stops)];
        const NS = "http://www.w3.org/2000/svg";
        const T = data.tokens.length;
        const layerSelect = document.getElementById("layer"), headSelect = document.getElementById("head");
        function option(select, value, text) { const o = document.createElement("option"); o.value = value; o.textContent = text; select.appendChild(o); }
        for (let l = 0; l < data.layers; l++) option(layerSelect, String(l), String(l));
        for (let h = 0; h < data.heads; h++) option(headSelect, String(h), String(h));
        option(headSelect, "mean", "mean");
        function colour(t) {
          const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
          const a = stops[i], b = stops[i + 1], c = [1, 3, 5].map(p => Math.round(parseInt(a.substr(p, 2), 16) * (1 - f) + parseInt(b.substr(p, 2), 16) * f));
          return "rgb(" + c.join(",") + ")";
        }
        function selected() {
          const l = Number(layerSelect.value), h = headSelect.value;
          if (h !== "mean") return data.attention[l][Number(h)];
          const m = [];
          for (let q = 0; q < T; q++) { m.push([]); for (let k = 0; k < T; k++) { let s = 0; for (let j = 0; j < data.heads; j++) s += data.attention[l][j][q][k]; m[q].push(s / data.heads); } }
          return m;
        }
        function element(parent, name, attributes, text) {
          const e = document.createElementNS(NS, name);
          for (const key in attributes) e.setAttribute(key, attributes[key]);
          if (text !== undefined) e.textContent = text;
          parent.appendChild(e);
          return e;
        }
        function drawHeatmap(map) {
          const svg = document.getElementById("heatmap");
          svg.replaceChildren();
          const cell = Math.max(10, Math.min(28, 560 / T)), left = 110, top = 110;
          svg.setAttribute("width", left + T * cell + 10); svg.setAttribute("height", top + T * cell + 10);
          let largest = 1e-12;
          for (const row of map) for (const v of row) largest = Math.max(largest, v);
          for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) {
            const r = element(svg, "rect", { x: left + k * cell, y: top + q * cell, width: cell, height: cell, fill: colour(map[q][k] / largest), class: "cell", "data-query": q, "data-key": k, "data-weight": map[q][k] });
            element(r, "title", {}, data.tokens[q] + " \\u2192 " + data.tokens[k] + ": " + map[q][k].toFixed(4));
          }
          data.tokens.forEach((t, q) => element(svg, "text", { x: left - 4, y: top + (q + 0.7) * cell, "text-anchor": "end" }, t));
          data.tokens.forEach((t, k) => { const x = left + (k + 0.7) * cell, y = top - 4; element(svg, "text", { x: x, y: y, transform: "rotate(-90 " + x + " " + y + ")" }, t); });
        }
        function drawLines(map, focus) {
          const svg = document.getElementById("lines");
          svg.replaceChildren();
          const row = 20, width = 360;
          svg.setAttribute("width", width); svg.setAttribute("height", T * row + 20);
          for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) {
            if (focus !== null && focus !== q) continue;
            if (map[q][k] < 0.001) continue;
            element(svg, "line", { x1: 110, y1: 14 + q * row, x2: width - 110, y2: 14 + k * row, stroke: "#1f5fa8", "stroke-width": 2, "stroke-opacity": map[q][k], class: "link", "data-query": q, "data-key": k, "data-weight": map[q][k] });
          }
          data.tokens.forEach((t, i) => {
            const a = element(svg, "text", { x: 104, y: 18 + i * row, "text-anchor": "end", class: "query", "data-index": i }, t);
            a.addEventListener("mouseenter", () => drawLines(map, i));
            a.addEventListener("mouseleave", () => drawLines(map, null));
            element(svg, "text", { x: width - 104, y: 18 + i * row, class: "key" }, t);
          });
        }
        function render() {
          const map = selected();
          drawHeatmap(map);
          drawLines(map, null);
          let best = [0, 0];
          for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) if (map[q][k] > map[best[0]][best[1]]) best = [q, k];
          const head = headSelect.value === "mean" ? "mean of heads" : "head " + headSelect.value;
          document.getElementById("status").textContent = "Layer " + layerSelect.value + ", " + head + ": strongest link " +
            data.tokens[best[0]] + " \\u2192 " + data.tokens[best[1]] + " (" + map[best[0]][best[1]].toFixed(4) + ")";
        }
        const requested = new URLSearchParams(location.hash.slice(1));
        if (requested.has("layer") && Number(requested.get("layer")) < data.layers) layerSelect.value = requested.get("layer");
        if (requested.has("head")) headSelect.value = requested.get("head");
        if (headSelect.value === "") headSelect.value = "0";
        layerSelect.addEventListener("change", render);
        headSelect.addEventListener("change", render);
        render();
        </script>
        </body>
        </html>

        """
    }
}
