import CKernels

/// One attention head's two products over a short sequence, by ckpt's own kernels: each score and
/// each context value is one sum in a fixed order, so a query's results do not depend on the other
/// queries run with it (all of a sequence's queries run in one call). For a few dozen queries and
/// keys a library GEMM's set-up per call costs as much as the arithmetic: on an AMD Zen 5, 0.68
/// against 1.12 µs for both products of a head at 24 keys (32 channels).
package enum AttentionHead {
    /// The most keys the f32 kernels take; longer sequences go to the engine's GEMM, whose larger
    /// register tiles gain as the keys grow (10.6 against 11.2 µs for a head at 128 keys), or to
    /// the bf16 kernels where `precision(forWeights:)` is bf16.
    package static let maxKeys = 64

    /// Whether the bf16 kernels run on this CPU (it has VDPBF16PS).
    package static let bf16Runs = ckpt_attention_bf16_runs() != 0

    /// Whether they are faster than the f32 ones here (see `ckpt_attention_bf16_gains`).
    package static let bf16Gains = ckpt_attention_bf16_gains() != 0

    /// The precision of attention's products over more than `maxKeys` keys in a model whose
    /// weight products run in `weights`: bf16 where those are reduced (bf16 or int8) and the CPU
    /// gains from it, else f32. Over fewer keys converting the operands costs more than bf16 saves.
    package static func precision(forWeights weights: Precision) -> Precision {
        weights != .f32 && bf16Gains ? .bf16 : .f32
    }

    /// `n` rounded up to whole vectors of 16: the shortest score row the kernels write for `n` keys.
    package static func wholeVectors(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    /// scores[i][j] = scale · q[i]·k[j] for `rows` queries and `keys` keys of `d` channels; score
    /// rows `stride` apart (≥ keys rounded up to 16). `transposedKeys`: scratch of d · stride floats.
    package static func scores(_ q: UnsafePointer<Float>, ldq: Int, _ k: UnsafePointer<Float>, ldk: Int, rows: Int, keys: Int, d: Int,
                               scale: Float, into scores: UnsafeMutablePointer<Float>, stride: Int,
                               transposedKeys: UnsafeMutablePointer<Float>) {
        precondition(stride >= wholeVectors(keys), "AttentionHead.scores: stride \(stride) is short of \(keys) keys in whole vectors")
        ckpt_attention_scores(q, Int64(ldq), k, Int64(ldk), Int64(rows), Int64(keys), Int64(d), scale, scores, Int64(stride), transposedKeys)
    }

    /// scores[j] = scale · q·k[j] for one query over `keys` keys of `d` channels (rows `ldk` apart),
    /// each read once: a decoded token's scores over its cache. Each sum is sixteen partial sums
    /// added pairwise (see `ckpt_attention_query_scores`).
    package static func queryScores(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, ldk: Int, keys: Int, d: Int, scale: Float,
                                    into scores: UnsafeMutablePointer<Float>) {
        ckpt_attention_query_scores(q, k, Int64(ldk), Int64(keys), Int64(d), scale, scores)
    }

    /// `queryScores` over keys held as bf16 bits (a bf16 key-value cache): the same bits as over
    /// the keys widened to f32.
    package static func queryScores(_ q: UnsafePointer<Float>, bf16Keys k: UnsafePointer<UInt16>, ldk: Int, keys: Int, d: Int, scale: Float,
                                    into scores: UnsafeMutablePointer<Float>) {
        ckpt_attention_query_scores_bf16_keys(q, k, Int64(ldk), Int64(keys), Int64(d), scale, scores)
    }

    /// One query's `context` over values held as bf16 bits: the same bits as `context` over the
    /// values widened to f32.
    package static func queryContext(_ p: UnsafePointer<Float>, bf16Values v: UnsafePointer<UInt16>, ldv: Int, keys: Int, d: Int,
                                     into out: UnsafeMutablePointer<Float>) {
        ckpt_attention_query_context_bf16_values(p, v, Int64(ldv), Int64(keys), Int64(d), out)
    }

    /// out[i] = Σ_j p[i][j] · v[j] for `rows` queries over `keys` value rows of `d` channels.
    package static func context(_ p: UnsafePointer<Float>, ldp: Int, _ v: UnsafePointer<Float>, ldv: Int, rows: Int, keys: Int, d: Int,
                                into out: UnsafeMutablePointer<Float>, ldo: Int) {
        ckpt_attention_context(p, Int64(ldp), v, Int64(ldv), Int64(rows), Int64(keys), Int64(d), out, Int64(ldo))
    }

    /// The UInt32 scratch `scoresInBF16` and `contextInBF16` take for `rows` queries over `keys` keys.
    package static func bf16Scratch(rows: Int, keys: Int, d: Int) -> Int {
        Int(ckpt_attention_bf16_scratch(Int64(rows), Int64(keys), Int64(d)))
    }

    /// `scores` over q and k rounded to bf16, pairs of channels' products summed in f32 by
    /// VDPBF16PS, any number of keys. Only where `bf16Runs`.
    package static func scoresInBF16(_ q: UnsafePointer<Float>, ldq: Int, _ k: UnsafePointer<Float>, ldk: Int, rows: Int, keys: Int, d: Int,
                                     scale: Float, into scores: UnsafeMutablePointer<Float>, stride: Int, scratch: UnsafeMutablePointer<UInt32>) {
        precondition(bf16Runs, "AttentionHead.scoresInBF16: this CPU has no VDPBF16PS")
        precondition(stride >= wholeVectors(keys), "AttentionHead.scoresInBF16: stride \(stride) is short of \(keys) keys in whole vectors")
        ckpt_attention_scores_bf16(q, Int64(ldq), k, Int64(ldk), Int64(rows), Int64(keys), Int64(d), scale, scores, Int64(stride), scratch)
    }

    /// One head's keys and values, rows `ld` apart: f32 values, or bf16 bits (a bf16 key-value cache).
    package enum KeyValueRows {
        case f32(keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
        case bf16(keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>)
    }

    /// One head's keys and values packed once for the bf16 products of many blocks of queries
    /// (a long prompt's, each block against a prefix of the keys): `scoresInBF16` and
    /// `contextInBF16` over a prefix of them give the same bits as over those keys and values
    /// passed as f32 rows, without packing them again for each block.
    package struct PackedBF16Head {
        /// Room for `keys` keys and values of `d` channels, and blocks of up to `queries` queries.
        package static func scratch(queries: Int, keys: Int, d: Int) -> Int {
            Int(ckpt_attention_bf16_packed_keys(Int64(keys), Int64(d)) + ckpt_attention_bf16_packed_values(Int64(keys), Int64(d))
                + ckpt_attention_bf16_row_scratch(Int64(queries), Int64(keys), Int64(d)))
        }

        let keyPairs: UnsafeMutablePointer<UInt32>, valuePairs: UnsafeMutablePointer<UInt32>, rowScratch: UnsafeMutablePointer<UInt32>
        /// Keys packed, channels, and the most queries of a block.
        let keys: Int, d: Int, queries: Int

        /// Packs `keys` keys and values of `d` channels (rows `ld` apart) into `scratch`
        /// (`scratch(queries:keys:d:)` UInt32s), for blocks of up to `queries` queries. Only where `bf16Runs`.
        package init(_ rows: KeyValueRows, ld: Int, keys: Int, d: Int, queries: Int, scratch: UnsafeMutablePointer<UInt32>) {
            precondition(bf16Runs, "AttentionHead.PackedBF16Head: this CPU has no VDPBF16PS")
            (self.keys, self.d, self.queries) = (keys, d, queries)
            keyPairs = scratch
            valuePairs = scratch + Int(ckpt_attention_bf16_packed_keys(Int64(keys), Int64(d)))
            rowScratch = valuePairs + Int(ckpt_attention_bf16_packed_values(Int64(keys), Int64(d)))
            switch rows {
            case let .f32(k, v):
                ckpt_attention_bf16_pack_keys(k, Int64(ld), Int64(keys), Int64(d), keyPairs)
                ckpt_attention_bf16_pack_values(v, Int64(ld), Int64(keys), Int64(d), valuePairs)
            case let .bf16(k, v):
                ckpt_attention_bf16_pack_key_bits(k, Int64(ld), Int64(keys), Int64(d), keyPairs)
                ckpt_attention_bf16_pack_value_bits(v, Int64(ld), Int64(keys), Int64(d), valuePairs)
            }
        }
    }

    /// `scoresInBF16` of `rows` queries over the first `keys` keys of `head`.
    package static func scoresInBF16(_ q: UnsafePointer<Float>, ldq: Int, _ head: PackedBF16Head, rows: Int, keys: Int, scale: Float,
                                     into scores: UnsafeMutablePointer<Float>, stride: Int) {
        precondition(keys <= head.keys && rows <= head.queries && stride >= wholeVectors(keys),
                     "AttentionHead.scoresInBF16: \(rows) queries of \(head.queries), \(keys) keys of \(head.keys), stride \(stride)")
        ckpt_attention_scores_bf16_packed(q, Int64(ldq), head.keyPairs, Int64(head.keys), Int64(rows), Int64(keys), Int64(head.d), scale, scores,
                                          Int64(stride), head.rowScratch)
    }

    /// `contextInBF16` of `rows` queries over the first `keys` values of `head` (finite values:
    /// where `keys` is odd, the next one is multiplied by p's zero).
    package static func contextInBF16(_ p: UnsafePointer<Float>, ldp: Int, _ head: PackedBF16Head, rows: Int, keys: Int,
                                      into out: UnsafeMutablePointer<Float>, ldo: Int) {
        precondition(keys <= head.keys && rows <= head.queries, "AttentionHead.contextInBF16: \(rows) queries of \(head.queries), \(keys) values of \(head.keys)")
        ckpt_attention_context_bf16_packed(p, Int64(ldp), head.valuePairs, Int64(rows), Int64(keys), Int64(head.d), out, Int64(ldo),
                                           head.rowScratch)
    }

    /// `context` over p and v rounded to bf16, pairs of keys' products summed in f32 by VDPBF16PS,
    /// any number of keys. Only where `bf16Runs`.
    package static func contextInBF16(_ p: UnsafePointer<Float>, ldp: Int, _ v: UnsafePointer<Float>, ldv: Int, rows: Int, keys: Int, d: Int,
                                      into out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<UInt32>) {
        precondition(bf16Runs, "AttentionHead.contextInBF16: this CPU has no VDPBF16PS")
        ckpt_attention_context_bf16(p, Int64(ldp), v, Int64(ldv), Int64(rows), Int64(keys), Int64(d), out, Int64(ldo), scratch)
    }
}
