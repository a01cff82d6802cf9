import ArgumentParser
import CkptSupport
import Kernels
import TensorFormats
import Transformers

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint between safetensors, sharded safetensors, npz and GGUF (and from PyTorch .bin, without running its pickle).",
        discussion: """
            The output format comes from OUTPUT: a .safetensors file, an .npz file, or a directory \
            (existing, or written with a trailing '/'), which receives model.safetensors or, past \
            --max-shard-size, shards and model.safetensors.index.json, and from a model directory also its \
            config.json, tokenizer files and sentence-transformers settings, so that it is a model directory too \
            (none of them may exist there already without --force; with --dtype f32, f16 or bf16 its \
            config.json's dtype names the new type, as transformers' save_pretrained writes it); or, from a BERT or GPT-2 model \
            directory, a .gguf file with llama.cpp's names and metadata (--dtype keep, f32, f16, bf16 or q8_0). \
            A BERT or GPT-2 .gguf INPUT is written back under Hugging Face names; into a directory, with \
            config.json, the tokenizer files and sentence-transformers' pooling files rebuilt from its metadata. \
            The output is written under a temporary name and renamed into place, so a failure leaves nothing behind.
            """
    )

    enum TargetType: String, ExpressibleByArgument, CaseIterable {
        case keep, f32, f16, bf16, int8, q8_0
    }

    private var writesGGUF: Bool { output.hasSuffix(".gguf") }
    private var readsGGUFModel: Bool { input.hasSuffix(".gguf") && !FileSystem.isDirectory(input) }

    @Argument(help: "A .safetensors, .npz, .gguf, PyTorch .bin/.pt/.pth or shard index (*.index.json) file, or a model directory.")
    var input: String

    @Argument(help: "A .safetensors, .npz or .gguf file, or a directory.")
    var output: String

    @Option(help: ArgumentHelp("""
        Element type of floating-point tensors in the output (integers keep theirs). int8 quantizes the \
        linear layers' weights per output channel, scales beside them (see README); other tensors keep their type. \
        From an int8 checkpoint, f32, f16 and bf16 write its weights dequantized.
        """))
    var dtype: TargetType = .keep

    @Option(help: "Keep only tensors whose name matches this regular expression (repeatable).")
    var include: [String] = []

    @Option(help: "Drop tensors whose name matches this regular expression (repeatable).")
    var exclude: [String] = []

    @Flag(help: ArgumentHelp("""
        Into a .gguf OUTPUT, also carry a BERT model's pooler and masked-LM head (which llama.cpp has no \
        tensors for) as ckpt.head.* metadata, so that the file runs fill-mask and converts back whole.
        """))
    var withHeads = false

    @Flag(help: "Deflate .npz members, like np.savez_compressed.")
    var compress = false

    @Option(help: "Largest shard when OUTPUT is a directory, e.g. 500MB or 2GiB (default 5GB).")
    var maxShardSize: String?

    @Flag(help: "Overwrite existing output files.")
    var force = false

    @Flag(help: "Print nothing on success, and no progress bar.")
    var quiet = false

    @OptionGroup var parallel: ThreadOptions

    func validate() throws {
        if let maxShardSize, ByteSize.parse(maxShardSize) == nil {
            throw ValidationError("--max-shard-size '\(maxShardSize)' is not a size such as 500MB, 2GB or 1GiB")
        }
        if writesGGUF {
            if dtype == .int8 { throw ValidationError("--dtype int8 writes safetensors; GGUF's 8-bit type is q8_0") }
            if !include.isEmpty || !exclude.isEmpty || compress || maxShardSize != nil {
                throw ValidationError("a .gguf OUTPUT takes the whole model: --include, --exclude, --compress and --max-shard-size do not apply")
            }
            return
        }
        if withHeads { throw ValidationError("--with-heads applies to a .gguf OUTPUT") }
        if dtype == .q8_0 { throw ValidationError("--dtype q8_0 writes GGUF: use a .gguf OUTPUT") }
        switch target {
        case nil:
            throw ValidationError("cannot tell the output format of '\(output)': use .safetensors, .npz or a directory ending in '/'")
        case .npz?:
            if maxShardSize != nil { throw ValidationError("--max-shard-size needs a directory OUTPUT") }
            if dtype == .int8 { throw ValidationError("--dtype int8 writes safetensors: use a .safetensors or directory OUTPUT") }
        case .safetensors?, .directory?:
            if compress { throw ValidationError("--compress applies to .npz output only") }
            if maxShardSize != nil, case .safetensors? = target { throw ValidationError("--max-shard-size needs a directory OUTPUT") }
        }
        do { _ = try TensorSelection(include: include, exclude: exclude) } catch {
            throw ValidationError("invalid --include/--exclude pattern: \(error)")
        }
    }

    private var target: ConversionTarget? {
        ConversionTarget.infer(output: output, compress: compress, maxShardSize: maxShardSize.flatMap(ByteSize.parse))
    }

    private var outputType: DType? {
        switch dtype {
        case .keep, .int8, .q8_0: return nil
        case .f32: return .F32
        case .f16: return .F16
        case .bf16: return .BF16
        }
    }

    func run() throws {
        // Conversion runs no matrix products: OpenBLAS's start-up threads would spin on a core it needs.
        BLAS.endIdleThreads()
        try reportingFailure {
            if writesGGUF {
                let quantized = try GGUFExport.write(modelDirectory: input, to: output, target: GGUFExport.Target(rawValue: dtype.rawValue)!,
                                                     withHeads: withHeads, overwrite: force, threads: parallel.threads)
                if !quiet {
                    printError("wrote \(output) (GGUF, \(dtype.rawValue))")
                    if quantized > 0 && dtype == .keep {
                        printError("note: GGUF has no place for per-channel int8 scales, so the \(quantized) int8 weights went in as the f32 values they stand for; --dtype q8_0 keeps 8 bits")
                    }
                }
                return
            }
            // A GGUF model reads back under Hugging Face names. A directory OUTPUT of a model (a
            // GGUF file or a model directory) receives its config, tokenizer and pooling files too,
            // checked before any weight is written.
            let gguf = readsGGUFModel ? try GGUFModel(path: input) : nil
            let checkpoint = try gguf?.checkpoint ?? Checkpoint(path: input)
            var companions: (directory: String, files: ModelDirectoryFiles)?
            if case .directory(let directory, _)? = target, gguf != nil || FileSystem.isDirectory(input) {
                var files = try gguf?.directoryFiles ?? ModelDirectoryFiles(copying: input)
                if let outputType, let name = outputType.torchName { files.recordDType(name) }
                if !force, let taken = files.paths(in: directory).first(where: FileSystem.exists) {
                    throw FormatError(file: taken, OutputError.exists)
                }
                companions = (directory, files)
            }
            let selection = try TensorSelection(include: include, exclude: exclude)
            // Made on the first report, whose total counts what is written (dequantized weights at four bytes an element).
            var bar: ProgressBar?
            var summary = try Converter.convert(checkpoint, to: target!, dtype: outputType, quantize: dtype == .int8, selection: selection,
                                                overwrite: force, threads: parallel.threads) { done, total in
                if bar == nil { bar = ProgressBar(total: total, unit: .bytes, quiet: quiet) }
                bar?.update(done)
            }
            bar?.finish()
            if let (directory, files) = companions {
                summary.files += try files.write(into: directory, overwrite: force)
            }
            if !quiet {
                let cast = summary.castCount > 0 ? ", \(summary.castCount) \(dtype == .int8 ? "quantized" : "cast") to \(dtype.rawValue)" : ""
                printError("wrote \(summary.tensorCount) tensors (\(humanBytes(summary.dataBytes))\(cast)) to \(summary.files.joined(separator: ", "))")
            }
        }
    }
}
