import CkptSupport
import Dispatch
import Foundation
import XCTest

/// The parallel regions every kernel runs on: each part or index exactly once, whether the region
/// runs on the spinning pool, on sleeping pool threads woken by a futex, or (nested, concurrent)
/// through Dispatch.
final class ParallelTests: XCTestCase {
    /// Counts how often each index is visited; one slot per index, so threads never share one.
    private final class Visits: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Int>
        let size: Int
        init(_ size: Int) {
            self.size = size
            counts = .allocate(capacity: size)
            counts.initialize(repeating: 0, count: size)
        }
        deinit { counts.deallocate() }
        var all: [Int] { Array(UnsafeBufferPointer(start: counts, count: size)) }
    }

    private func checkRegions(count: Int, threads: Int, file: StaticString = #filePath, line: UInt = #line) {
        let parts = Visits(count), indices = Visits(count)
        Parallel.forEachPart(of: 0..<count, threads: threads) { part in
            for index in part { parts.counts[index] += 1 }
        }
        Parallel.forEachIndex(count, threads: threads) { index in indices.counts[index] += 1 }
        XCTAssertEqual(parts.all, Array(repeating: 1, count: count), "parts, \(count) over \(threads) threads", file: file, line: line)
        XCTAssertEqual(indices.all, Array(repeating: 1, count: count), "indices, \(count) over \(threads) threads", file: file, line: line)
    }

    func testEveryPartAndIndexRunsOnceAtAnyThreadCount() {
        // Growing the pool to 5 threads, then regions that leave some of its threads out.
        for threads in [1, 2, 5, 3, 2, 4] {
            for _ in 0..<200 { checkRegions(count: 37, threads: threads) }
        }
    }

    func testPartsAreContiguousAndEachWorkerGetsItsOwn() {
        let starts = Visits(3)
        Parallel.forEachPart(of: 10..<19, threads: 3) { part in starts.counts[(part.lowerBound - 10) / 3] = part.count }
        XCTAssertEqual(starts.all, [3, 3, 3])
    }

    func testRegionsAfterThePoolHasGoneToSleep() {
        for _ in 0..<5 {
            usleep(10_000)  // longer than the pool's spin, so its threads wait on the futex
            checkRegions(count: 64, threads: 2)
        }
    }

    func testNestedRegionsRunEveryIndexOnce() {
        let visits = Visits(8 * 16)
        Parallel.forEachIndex(8, threads: 2) { outer in
            Parallel.forEachIndex(16, threads: 2) { inner in visits.counts[outer * 16 + inner] += 1 }
        }
        XCTAssertEqual(visits.all, Array(repeating: 1, count: 8 * 16))
        // Fixed parts nested in a region go through Dispatch.
        let parts = Visits(4 * 10)
        Parallel.forEachIndex(4, threads: 2) { outer in
            Parallel.forEachPart(of: 0..<10, threads: 2) { part in for i in part { parts.counts[outer * 10 + i] += 1 } }
        }
        XCTAssertEqual(parts.all, Array(repeating: 1, count: 4 * 10))
    }

    /// One part of a region runs many nested regions, the other few, so the thread that finishes
    /// first joins the nested regions still being run (`ckpt_pool_share`).
    func testNestedRegionsOfALongPartAreSharedWithoutLosingAnIndex() {
        let regions = 400, items = 24
        let visits = Visits(regions * items), short = Visits(items)
        for _ in 0..<5 {
            for i in 0..<(regions * items) { visits.counts[i] = 0 }
            for i in 0..<items { short.counts[i] = 0 }
            Parallel.forEachIndex(2, threads: 2) { part in
                if part == 0 {
                    for region in 0..<regions {
                        Parallel.forEachIndex(items, threads: 2) { item in visits.counts[region * items + item] += 1 }
                    }
                } else {
                    Parallel.forEachIndex(items, threads: 2) { item in short.counts[item] += 1 }
                }
            }
            XCTAssertEqual(visits.all, Array(repeating: 1, count: regions * items))
            XCTAssertEqual(short.all, Array(repeating: 1, count: items))
        }
    }

    func testRegionsFromConcurrentCallers() {
        let visits = Visits(4 * 500 * 8)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<500 {
                Parallel.forEachIndex(8, threads: 2) { index in visits.counts[(caller * 500 + round) * 8 + index] += 1 }
            }
        }
        XCTAssertEqual(visits.all, Array(repeating: 1, count: 4 * 500 * 8))
    }
}
