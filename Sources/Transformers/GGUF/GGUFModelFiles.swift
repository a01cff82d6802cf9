import CkptSupport

extension GGUFModel {
    /// The text files of the model directory the GGUF file stands for, by path within it:
    /// `config.json`; `vocab.txt` and `tokenizer_config.json` (BERT) or `vocab.json` and
    /// `merges.txt` (GPT-2); and sentence-transformers' `modules.json`, `1_Pooling/config.json`
    /// and `sentence_bert_config.json` when the pooling is not the family's plain default. An
    /// empty `2_Normalize/` folder stands for the Normalize step.
    public var directoryFiles: ModelDirectoryFiles {
        var files: [(String, String)] = [("config.json", config.compactText + "\n")]
        switch family {
        case .bert:
            files.append(("vocab.txt", tokens.joined(separator: "\n") + "\n"))
            let tokenizerConfig: JSON = .object([("do_lower_case", .bool(lowercase)), ("tokenizer_class", .string("BertTokenizer")),
                                                 ("model_max_length", .number("\(pooling.maxLength ?? config["max_position_embeddings"]?.int ?? 512)"))])
            files.append(("tokenizer_config.json", tokenizerConfig.compactText + "\n"))
        case .gpt2:
            files.append(("vocab.json", JSON.object(tokens.enumerated().map { ($1, .number("\($0)")) }).compactText + "\n"))
            let merges = file["tokenizer.ggml.merges"]?.array?.compactMap(\.string) ?? []
            files.append(("merges.txt", (["#version: 0.2"] + merges).joined(separator: "\n") + "\n"))
        }
        files += sentenceTransformersFiles
        return ModelDirectoryFiles(files: files.map { ($0.0, Array($0.1.utf8)) }, folders: pooling.normalize ? ["2_Normalize"] : [])
    }

    /// sentence-transformers' files, none where the pooling is the family's plain default.
    private var sentenceTransformersFiles: [(String, String)] {
        guard pooling != PoolingSettings(modes: [family.defaultPooling], normalize: false, maxLength: nil) else { return [] }
        var files: [(String, String)] = []
        var modules: [JSON] = [module(0, "", "Transformer"), module(1, "1_Pooling", "Pooling")]
        if pooling.normalize { modules.append(module(2, "2_Normalize", "Normalize")) }
        files.append(("modules.json", JSON.array(modules).compactText + "\n"))
        let width = config["hidden_size"]?.int ?? config["n_embd"]?.int ?? 0
        let flags: [(String, PoolingMode?)] = [("pooling_mode_cls_token", .cls), ("pooling_mode_mean_tokens", .mean), ("pooling_mode_max_tokens", .max),
                                               ("pooling_mode_mean_sqrt_len_tokens", nil), ("pooling_mode_weightedmean_tokens", nil),
                                               ("pooling_mode_lasttoken", .last)]
        let poolingConfig = JSON.object([("word_embedding_dimension", .number("\(width)"))]
                                        + flags.map { ($0.0, .bool($0.1.map(pooling.modes.contains) ?? false)) })
        files.append(("1_Pooling/config.json", poolingConfig.compactText + "\n"))
        if let maxLength = pooling.maxLength {
            files.append(("sentence_bert_config.json", JSON.object([("max_seq_length", .number("\(maxLength)")), ("do_lower_case", .bool(false))]).compactText + "\n"))
        }
        return files
    }

    private func module(_ index: Int, _ path: String, _ type: String) -> JSON {
        .object([("idx", .number("\(index)")), ("name", .string("\(index)")), ("path", .string(path)),
                 ("type", .string("sentence_transformers.models.\(type)"))])
    }
}
