import Synchronization

/// Raw blocks kept after use and handed out again, for the scratch every product makes anew
/// (`PreparedRows`' bf16 and u8 copies of x). Through malloc, these blocks of a few hundred KB, a
/// little different in size from one batch to the next, left holes in the threads' arenas that
/// the next sizes did not fit: bf16 features of 2,000 questions peaked 15–25 MB higher than the
/// memory in use.
package final class ScratchBlocks: Sendable {
    /// A block: `capacity` bytes from `pointer`, 64-byte aligned.
    package struct Block: @unchecked Sendable {
        package let pointer: UnsafeMutableRawPointer
        package let capacity: Int
    }

    /// The blocks of every product.
    package static let shared = ScratchBlocks(mostKept: 64, largestKept: 32 << 20)

    /// Capacities are multiples of this, so that a block also serves requests a little larger
    /// than the one it was made for (a batch of 252 rows after one of 240).
    package static let granule = 1 << 16

    private let mostKept: Int
    private let largestKept: Int
    private let idle = Mutex<[Block]>([])

    /// Keeps at most `mostKept` idle blocks, none larger than `largestKept` bytes (malloc maps
    /// and unmaps those whole).
    package init(mostKept: Int, largestKept: Int) {
        self.mostKept = mostKept
        self.largestKept = largestKept
    }

    /// A block of at least `bytes` bytes: the smallest idle one that holds them, else a new one.
    package func take(_ bytes: Int) -> Block {
        let reused = idle.withLock { blocks -> Block? in
            var best: Int?
            for i in blocks.indices where blocks[i].capacity >= bytes {
                if let chosen = best, blocks[chosen].capacity <= blocks[i].capacity { continue }
                best = i
            }
            return best.map { blocks.remove(at: $0) }
        }
        if let reused { return reused }
        let capacity = (max(1, bytes) + Self.granule - 1) / Self.granule * Self.granule
        return Block(pointer: UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64), capacity: capacity)
    }

    /// Returns `block` for later `take`s; when more than `mostKept` are idle, frees the smallest.
    package func giveBack(_ block: Block) {
        guard block.capacity <= largestKept else { return block.pointer.deallocate() }
        let freed = idle.withLock { blocks -> Block? in
            blocks.append(block)
            guard blocks.count > mostKept, let smallest = blocks.indices.min(by: { blocks[$0].capacity < blocks[$1].capacity }) else { return nil }
            return blocks.remove(at: smallest)
        }
        freed?.pointer.deallocate()
    }

    /// How many blocks are idle, and their bytes.
    package var idleBlocks: (count: Int, bytes: Int) {
        idle.withLock { ($0.count, $0.reduce(0) { $0 + $1.capacity }) }
    }

    deinit { idle.withLock { $0.forEach { $0.pointer.deallocate() } } }
}
