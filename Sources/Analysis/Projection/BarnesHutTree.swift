/// A quadtree over 2-D points for the Barnes–Hut estimate of t-SNE's repulsive forces, built as
/// openTSNE's `QuadTree`: points inserted in order, a leaf split when a second point arrives,
/// points within 1e-6 of a leaf's centre of mass merged into it. Nodes live in one flat array (one
/// cache line each); the four children of a node are consecutive.
struct BarnesHutTree {
    struct Node {
        var centreX: Double, centreY: Double
        /// Side length of the node's square.
        var side: Double
        var massX = 0.0, massY = 0.0
        var count = 0
        /// Index of the first child, or −1 for a leaf.
        var firstChild = -1
    }

    private(set) var nodes: [Node] = []

    /// points: [N, 2] row-major.
    init(_ points: UnsafePointer<Double>, count N: Int) {
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in 0..<N {
            minX = min(minX, points[2 * i]); maxX = max(maxX, points[2 * i])
            minY = min(minY, points[2 * i + 1]); maxY = max(maxY, points[2 * i + 1])
        }
        nodes.reserveCapacity(4 * N)
        nodes.append(Node(centreX: (minX + maxX) / 2, centreY: (minY + maxY) / 2, side: max(maxX - minX, maxY - minY)))
        for i in 0..<N { insert(points[2 * i], points[2 * i + 1]) }
    }

    private func child(of node: Int, x: Double, y: Double) -> Int {
        nodes[node].firstChild + (x > nodes[node].centreX ? 1 : 0) + (y > nodes[node].centreY ? 2 : 0)
    }

    private mutating func addMass(_ node: Int, x: Double, y: Double) {
        let n = Double(nodes[node].count)
        nodes[node].massX = (nodes[node].massX * n + x) / (n + 1)
        nodes[node].massY = (nodes[node].massY * n + y) / (n + 1)
        nodes[node].count += 1
    }

    private mutating func insert(_ x: Double, _ y: Double) {
        var index = 0
        while true {
            let node = nodes[index]
            if node.firstChild < 0 {
                if node.count == 0 || (abs(node.massX - x) < 1e-6 && abs(node.massY - y) < 1e-6) {
                    addMass(index, x: x, y: y)
                    return
                }
                // Split: the leaf's points move to the child their centre of mass falls in.
                let quarter = node.side / 4
                nodes[index].firstChild = nodes.count
                for c in 0..<4 {
                    nodes.append(Node(centreX: node.centreX + (c & 1 == 1 ? quarter : -quarter),
                                      centreY: node.centreY + (c & 2 == 2 ? quarter : -quarter), side: node.side / 2))
                }
                let moved = child(of: index, x: node.massX, y: node.massY)
                nodes[moved].massX = node.massX; nodes[moved].massY = node.massY; nodes[moved].count = node.count
            }
            addMass(index, x: x, y: y)
            index = child(of: index, x: x, y: y)
        }
    }

    /// The repulsive force on the point (x, y) — Σ_j q_ij² (y_i − y_j) over the other points,
    /// q_ij = 1 / (1 + ‖y_i − y_j‖²) — and Σ_j q_ij, with cells of side / distance < θ taken as
    /// one mass at their centre. `stack` is scratch space of at least 3 × nodes + 1 entries.
    func repulsion(x: Double, y: Double, theta: Double, stack: UnsafeMutablePointer<Int>) -> (fx: Double, fy: Double, sumQ: Double) {
        var fx = 0.0, fy = 0.0, sumQ = 0.0
        let epsilon = Double.ulpOfOne, theta2 = theta * theta
        nodes.withUnsafeBufferPointer { nodes in
            var top = 1
            stack[0] = 0
            while top > 0 {
                top -= 1
                let node = nodes[stack[top]]
                if node.count == 0 { continue }
                let leaf = node.firstChild < 0
                let dx = x - node.massX, dy = y - node.massY
                // The point's own leaf (and points merged with it) exerts no force.
                if leaf && abs(dx) < epsilon && abs(dy) < epsilon { continue }
                let distance = epsilon + dx * dx + dy * dy
                if leaf || node.side * node.side < theta2 * distance {
                    let q = 1 / (1 + distance), weight = Double(node.count) * q
                    sumQ += weight
                    fx += weight * q * dx
                    fy += weight * q * dy
                } else {
                    let first = node.firstChild
                    stack[top] = first + 3; stack[top + 1] = first + 2; stack[top + 2] = first + 1; stack[top + 3] = first
                    top += 4
                }
            }
        }
        return (fx, fy, sumQ)
    }
}
