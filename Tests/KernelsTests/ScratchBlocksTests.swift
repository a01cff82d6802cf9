import XCTest
@testable import Kernels

/// The scratch blocks products reuse: a block given back serves the next request it holds, a
/// little larger ones too, so that batches of slightly different sizes do not each leave a freed
/// block of their own behind; the idle blocks kept stay bounded in number and size.
final class ScratchBlocksTests: XCTestCase {
    func testAGivenBackBlockServesTheNextRequestsItHolds() {
        let blocks = ScratchBlocks(mostKept: 8, largestKept: 1 << 24)
        let first = blocks.take(240 * 384 * 2)
        XCTAssertEqual(first.capacity % ScratchBlocks.granule, 0)
        XCTAssertGreaterThanOrEqual(first.capacity, 240 * 384 * 2)
        first.pointer.storeBytes(of: 7, toByteOffset: first.capacity - 1, as: UInt8.self)
        blocks.giveBack(first)
        // 252 rows after 240: the same block, its capacity rounded up to whole granules.
        let second = blocks.take(252 * 384 * 2)
        XCTAssertEqual(second.pointer, first.pointer)
        XCTAssertEqual(blocks.idleBlocks.count, 0)
        // Taken twice without being given back: two blocks.
        let third = blocks.take(100)
        XCTAssertNotEqual(third.pointer, second.pointer)
        blocks.giveBack(second)
        blocks.giveBack(third)
        XCTAssertEqual(blocks.idleBlocks.count, 2)
    }

    func testTheSmallestIdleBlockThatHoldsARequestServesIt() {
        let blocks = ScratchBlocks(mostKept: 8, largestKept: 1 << 24)
        let sizes = [5, 1, 3].map { $0 * ScratchBlocks.granule }
        let taken = sizes.map { blocks.take($0) }
        taken.forEach(blocks.giveBack)
        XCTAssertEqual(blocks.take(2 * ScratchBlocks.granule).pointer, taken[2].pointer)
        XCTAssertEqual(blocks.take(ScratchBlocks.granule).pointer, taken[1].pointer)
        // None idle holds 6 granules: a new block, and the 5-granule one stays idle.
        let larger = blocks.take(6 * ScratchBlocks.granule)
        XCTAssertFalse(taken.map(\.pointer).contains(larger.pointer))
        XCTAssertEqual(blocks.idleBlocks.count, 1)
        XCTAssertEqual(blocks.idleBlocks.bytes, 5 * ScratchBlocks.granule)
    }

    func testIdleBlocksStayBoundedInNumberAndSize() {
        let blocks = ScratchBlocks(mostKept: 3, largestKept: 4 * ScratchBlocks.granule)
        let taken = (1...4).map { blocks.take($0 * ScratchBlocks.granule) }
        taken.forEach(blocks.giveBack)
        // Four given back, three kept: the smallest was freed.
        XCTAssertEqual(blocks.idleBlocks.count, 3)
        XCTAssertEqual(blocks.idleBlocks.bytes, (2 + 3 + 4) * ScratchBlocks.granule)
        // A block larger than `largestKept` is freed, not kept.
        blocks.giveBack(blocks.take(5 * ScratchBlocks.granule))
        XCTAssertEqual(blocks.idleBlocks.count, 3)
        XCTAssertEqual(blocks.idleBlocks.bytes, (2 + 3 + 4) * ScratchBlocks.granule)
    }

    /// bf16 products of 240 rows, then of 252, take their copy of x from the shared blocks: the
    /// second product reuses the block the first one gave back.
    func testReducedPrecisionProductsReuseTheSharedBlocks() {
        let (k, n) = (384, 64)
        let weight = LinearWeight((0..<(k * n)).map { Float($0 % 13) / 13 }, outputs: n, inputs: k, precision: .bf16)
        let x = [Float](repeating: 0.5, count: 252 * k)
        var y = [Float](repeating: 0, count: 252 * n)
        // Out of the way while this test runs: blocks that earlier products left idle.
        var earlier: [ScratchBlocks.Block] = []
        while ScratchBlocks.shared.idleBlocks.count > 0 { earlier.append(ScratchBlocks.shared.take(1)) }
        defer { earlier.forEach(ScratchBlocks.shared.giveBack) }
        weight.apply(x, rows: 240, bias: nil, into: &y, threads: 1)
        let afterFirst = ScratchBlocks.shared.idleBlocks
        XCTAssertEqual(afterFirst.count, 1, "the product's copy of x was given back")
        // At least x's 240 rows as bf16 bits (f32 values rounded to bf16 where the engine takes f32).
        XCTAssertGreaterThanOrEqual(afterFirst.bytes, 240 * k * 2)
        weight.apply(x, rows: 252, bias: nil, into: &y, threads: 1)
        XCTAssertEqual(ScratchBlocks.shared.idleBlocks.count, 1)
        XCTAssertEqual(ScratchBlocks.shared.idleBlocks.bytes, afterFirst.bytes)
    }
}
