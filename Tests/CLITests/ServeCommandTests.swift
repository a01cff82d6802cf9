import CkptSupport
import Foundation
import Synchronization
import TensorFormats
import XCTest

/// Text that threads append to.
final class SharedText: Sendable {
    private let text = Mutex("")
    func append(_ more: String) { text.withLock { $0 += more } }
    var value: String { text.withLock { $0 } }
}

/// A `ckpt serve` process on a free loopback port, ready (model loaded) when created.
final class ServerProcess {
    let process = Process()
    private let log = SharedText()
    private(set) var port = 0

    init(_ arguments: [String]) throws {
        process.executableURL = Ckpt.executable
        process.arguments = ["serve", "--port", "0"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        errors.fileHandleForReading.readabilityHandler = { [log] handle in
            log.append(String(decoding: handle.availableData, as: UTF8.self))
        }
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning && !stderr.contains("ready: ") { usleep(50_000) }
        let listening = stderr.components(separatedBy: "listening on http://127.0.0.1:").dropFirst().first
        port = listening.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        guard port > 0 && stderr.contains("ready: ") else { throw CocoaError(.fileReadUnknown, userInfo: ["stderr": stderr]) }
    }

    var stderr: String { log.value }

    /// Sends `signal` and waits for the exit; the exit status.
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

/// `ckpt serve` over loopback with a raw HTTP client: answers equal to `ckpt embed`, the limits and
/// bad requests answered with the right status and JSON, the server staying healthy, and a graceful stop.
final class ServeCommandTests: XCTestCase {
    let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    lazy var texts: [String] = try! String(contentsOfFile: Ckpt.fixtures + "/data/trec-test.tsv", encoding: .utf8)
        .split(separator: "\n").dropFirst().map { String($0.split(separator: "\t", maxSplits: 1)[1]) }

    func jsonList(_ texts: [String]) -> String { "[" + texts.map { JSON.string($0).compactText }.joined(separator: ",") + "]" }

    /// `ckpt embed`'s features of `texts`, row by row.
    func embedded(_ texts: [String], _ extra: [String] = []) throws -> [[Float]] {
        let directory = try Ckpt.temporaryDirectory(self)
        try (texts.joined(separator: "\n") + "\n").write(toFile: directory + "/in.txt", atomically: true, encoding: .utf8)
        let result = try Ckpt.run(["embed", "--model", model, "--quiet", "--output", directory + "/out.npy", directory + "/in.txt"] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        let values = try Checkpoint(path: directory + "/out.npy").tensor(named: "out").floats()
        let D = values.count / texts.count
        return (0..<texts.count).map { Array(values[($0 * D)..<(($0 + 1) * D)]) }
    }

    func floats(_ json: JSON?) -> [Float] { json?.array?.map { Float($0.double!) } ?? [] }

    func testEmbeddingRoutesAnswerExactlyWhatEmbedWrites() throws {
        let server = try ServerProcess(["--model", model, "--threads", "2"])
        let batch = Array(texts[0..<20])
        let expected = try embedded(batch)
        // OpenAI, floats: the shortest decimal of each float, which reads back to the same bits.
        let openAI = try XCTUnwrap(HTTPClient.post(server.port, "/v1/embeddings", json: #"{"input": \#(jsonList(batch)), "model": "minilm"}"#))
        XCTAssertEqual(openAI.status, 200, openAI.text)
        let reply = try JSON.parse(openAI.text)
        XCTAssertEqual(reply["object"]?.string, "list")
        XCTAssertEqual(reply["model"]?.string, "minilm")
        let data = try XCTUnwrap(reply["data"]?.array)
        XCTAssertEqual(data.map { $0["index"]?.int }, (0..<20).map { $0 })
        XCTAssertEqual(data.map { floats($0["embedding"]) }, expected)
        XCTAssertGreaterThan(reply["usage"]?["prompt_tokens"]?.int ?? 0, 20 * 3)
        // base64: little-endian float32 bytes.
        let base64 = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/v1/embeddings", json: #"{"input": \#(jsonList(batch)), "encoding_format": "base64"}"#)).text)
        let decoded = try XCTUnwrap(base64["data"]?.array).map { item -> [Float] in
            let bytes = Data(base64Encoded: item["embedding"]!.string!)!
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        XCTAssertEqual(decoded, expected)
        // TEI, a single string and a list.
        let tei = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/embed", json: #"{"inputs": \#(jsonList(batch))}"#)).text)
        XCTAssertEqual(tei.array?.map(floats), expected)
        let one = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/embed", json: #"{"inputs": \#(JSON.string(batch[3]).compactText)}"#)).text)
        XCTAssertEqual(one.array?.map(floats), [expected[3]])
        // normalize false: the pooled features before normalisation.
        let raw = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/embed", json: #"{"inputs": \#(jsonList(batch)), "normalize": false}"#)).text)
        XCTAssertEqual(raw.array?.map(floats), try embedded(batch, ["--no-normalize"]))

        XCTAssertEqual(HTTPClient.request(server.port, "GET", "/health")?.status, 200)
        let info = try JSON.parse(try XCTUnwrap(HTTPClient.request(server.port, "GET", "/info")).text)
        XCTAssertEqual(info["dimension"]?.int, 384)
        XCTAssertEqual(info["max_input_length"]?.int, 256)
        let metrics = try XCTUnwrap(HTTPClient.request(server.port, "GET", "/metrics"))
        XCTAssertTrue(metrics.text.contains(#"ckpt_requests_total{route="/v1/embeddings",status="200"} 2"#), metrics.text)
        XCTAssertTrue(metrics.text.contains(#"ckpt_request_duration_seconds_count{stage="inference"}"#))
        XCTAssertEqual(server.stop(), 0)
    }

    func testTokenizeAndPredictAgreeWithTheCommands() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let trained = try Ckpt.run(["train-head", "--model", model, "--train", Ckpt.fixtures + "/data/trec-test.tsv", "--output", directory + "/head",
                                    "--quiet", "--no-ledger"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let server = try ServerProcess(["--model", model, "--head", "trec=" + directory + "/head"])
        let question = "Who wrote Hamlet ?"
        let tokens = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/tokenize", json: #"{"inputs": "\#(question)"}"#)).text)
        let ids = try Ckpt.run(["tokenize", "--model", model, question]).stdout.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        XCTAssertEqual(tokens.array?.first?.array?.map { $0["id"]!.int! }, ids)
        XCTAssertEqual(tokens.array?.first?.array?.first?["special"], .bool(true))
        let predicted = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/predict", json: #"{"inputs": ["\#(question)"], "head": "trec"}"#)).text)
        let ranked = try XCTUnwrap(predicted.array?.first?.array)
        XCTAssertEqual(ranked.count, 6)
        let command = try Ckpt.run(["predict", "--head", directory + "/head", "--format", "tsv"], input: question + "\n").stdout.split(separator: "\t")
        XCTAssertEqual(ranked[0]["label"]?.string, String(command[0]))
        XCTAssertEqual(Float(ranked[0]["score"]!.double!), Float(command[1].trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(HTTPClient.post(server.port, "/predict", json: #"{"inputs": "x", "head": "nope"}"#)?.status, 404)
    }

    func testTheServerRunsAtItsHeadsPrecisionAndRefusesAHeadOfOtherFeatures() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let trained = try Ckpt.run(["train-head", "--model", model, "--train", Ckpt.fixtures + "/data/trec-test.tsv", "--output", directory + "/head",
                                    "--precision", "int8", "--quiet", "--no-ledger", "--no-cache"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let questions = Array(texts[0..<8])
        let byCommand = try Ckpt.run(["predict", "--head", directory + "/head", "--format", "jsonl", "--no-cache", "--top-k", "6"], input: questions.joined(separator: "\n") + "\n")
        let inF32 = try Ckpt.run(["predict", "--head", directory + "/head", "--format", "jsonl", "--no-cache", "--precision", "f32"],
                                 input: questions.joined(separator: "\n") + "\n")
        XCTAssertNotEqual(byCommand.stdout, inF32.stdout, "the head's int8 features and f32 ones give other scores")
        let scores = { (text: String) in try text.split(separator: "\n").map { try JSON.parse(String($0))["top"]!.array! } }

        let server = try ServerProcess(["--model", model, "--head", "trec=" + directory + "/head"])
        XCTAssertTrue(server.stderr.contains("384 features, int8, 1 head(s)"), server.stderr)
        XCTAssertFalse(server.stderr.contains("note:"), server.stderr)
        XCTAssertEqual(try JSON.parse(try XCTUnwrap(HTTPClient.request(server.port, "GET", "/info")).text)["precision"]?.string, "int8")
        let predicted = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/predict", json: #"{"inputs": \#(jsonList(questions)), "head": "trec"}"#)).text)
        let served = try XCTUnwrap(predicted.array).map { ranked in
            JSON.object(ranked.array!.map { ($0["label"]!.string!, $0["score"]!) })
        }
        let printed = try scores(byCommand.stdout)
        XCTAssertEqual(printed.count, questions.count)
        for (answer, expected) in zip(served, printed) {
            XCTAssertEqual(expected.count, 6)
            for top in expected {
                let label = top["label"]!.string!
                XCTAssertEqual(Float(answer[label]!.double!), Float(top["probability"]!.double!), "\(label): /predict answers what ckpt predict prints")
            }
        }
        XCTAssertEqual(server.stop(), 0)

        let otherPrecision = try Ckpt.run(["serve", "--port", "0", "--model", model, "--precision", "f32", "--head", "trec=" + directory + "/head"])
        XCTAssertNotEqual(otherPrecision.status, 0)
        XCTAssertTrue(otherPrecision.stderr.contains("head 'trec' was trained on other features (precision int8) than the server makes (precision f32)"),
                      otherPrecision.stderr)
        let json = try String(contentsOfFile: directory + "/head/head.json", encoding: .utf8)
        // A head trained on a model at another path is served, with a note.
        try json.replacingOccurrences(of: #""model":"\#(model)""#, with: #""model":"/elsewhere/minilm""#)
            .write(toFile: directory + "/head/head.json", atomically: true, encoding: .utf8)
        let elsewhere = try ServerProcess(["--model", model, "--head", "trec=" + directory + "/head"])
        XCTAssertTrue(elsewhere.stderr.contains("note: head 'trec' was trained on features of /elsewhere/minilm; this server encodes with \(model)\n"),
                      elsewhere.stderr)
        XCTAssertEqual(elsewhere.stop(), 0)
        try json.replacingOccurrences(of: #""max_length":256"#, with: #""max_length":128"#)
            .write(toFile: directory + "/head/head.json", atomically: true, encoding: .utf8)
        let otherLength = try Ckpt.run(["serve", "--port", "0", "--model", model, "--head", "trec=" + directory + "/head"])
        XCTAssertNotEqual(otherLength.status, 0)
        XCTAssertTrue(otherLength.stderr.contains(#"(pooling {"modes":["mean"],"normalize":true,"max_length":128})"#), otherLength.stderr)
    }

    func testLimitsAndBadRequestsGetTheirStatusAndTheServerStaysHealthy() throws {
        let server = try ServerProcess(["--model", model, "--payload-limit", "100000", "--max-client-batch-size", "8"])
        func check(_ reply: HTTPClient.Reply?, _ status: Int, _ type: String, line: UInt = #line) {
            XCTAssertEqual(reply?.status, status, reply?.text ?? "no reply", line: line)
            let json = try? JSON.parse(reply?.text ?? "")
            XCTAssertEqual(json?["error_type"]?.string, type, line: line)
            XCTAssertNotNil(json?["error"]?.string, line: line)
        }
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": ""# + String(repeating: "a ", count: 60_000) + #""}"#), 413, "payload_too_large")
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": \#(jsonList(Array(texts[0..<9])))}"#), 413, "payload_too_large")
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": ""# + String(repeating: "word ", count: 300) + #""}"#), 422, "validation")
        check(HTTPClient.post(server.port, "/v1/embeddings", json: #"{"input": ""# + String(repeating: "word ", count: 300) + #""}"#), 422, "validation")
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": "unclosed"#), 400, "validation")
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": 42}"#), 400, "validation")
        check(HTTPClient.post(server.port, "/embed", json: #"{"inputs": []}"#), 400, "validation")
        check(HTTPClient.post(server.port, "/embed", json: #"["not", "an object"]"#), 400, "validation")
        check(HTTPClient.post(server.port, "/v1/embeddings", json: #"{"input": "x", "encoding_format": "hex"}"#), 400, "validation")
        check(HTTPClient.request(server.port, "POST", "/embed", body: Data(#"{"inputs": "caf"#.utf8) + Data([0xC3, 0x28]) + Data(#""}"#.utf8)), 400, "validation")
        check(HTTPClient.request(server.port, "GET", "/nowhere"), 404, "not_found")
        let wrongMethod = HTTPClient.request(server.port, "GET", "/embed")
        check(wrongMethod, 405, "method_not_allowed")
        XCTAssertEqual(wrongMethod?.headers["allow"], "POST")
        // Truncation asked for: the features of the text cut to the model's limit, as embed cuts it.
        let long = String(repeating: "word ", count: 300)
        let truncated = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/embed", json: #"{"inputs": "\#(long)", "truncate": true}"#)).text)
        XCTAssertEqual(truncated.array?.map(floats), try embedded([long]))
        // A client that sends half a body and leaves.
        if let fd = HTTPClient.connect(server.port) {
            HTTPClient.send(fd, Data("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"inputs\": \"par".utf8))
            close(fd)
        }
        XCTAssertEqual(HTTPClient.request(server.port, "GET", "/health")?.status, 200)
        XCTAssertEqual(HTTPClient.post(server.port, "/embed", json: #"{"inputs": "still here"}"#)?.status, 200)
        XCTAssertTrue(server.process.isRunning)
        XCTAssertEqual(server.stop(SIGINT), 0)
    }

    func testAutoTruncateCutsLongTextsAsEmbedDoes() throws {
        let server = try ServerProcess(["--model", model, "--auto-truncate"])
        let long = String(repeating: "again ", count: 400)
        let reply = try JSON.parse(try XCTUnwrap(HTTPClient.post(server.port, "/v1/embeddings", json: #"{"input": "\#(long)"}"#)).text)
        XCTAssertEqual(reply["data"]?.array?.map { floats($0["embedding"]) }, try embedded([long]))
        XCTAssertEqual(reply["usage"]?["prompt_tokens"]?.int, 256)
        // TEI's own "truncate": false still refuses it.
        XCTAssertEqual(HTTPClient.post(server.port, "/embed", json: #"{"inputs": "\#(long)", "truncate": false}"#)?.status, 422)
    }

    /// Many requests at once against a queue of 2: some answered 429, the rest correct, and the server healthy after.
    func testAFloodGets429AndTheServerStaysHealthy() throws {
        let server = try ServerProcess(["--model", model, "--max-concurrent-requests", "2", "--threads", "1"])
        let body = #"{"inputs": \#(jsonList(Array(texts[0..<32])))}"#
        let statuses = SharedText()
        let port = server.port, done = DispatchGroup()
        // A thread per client, so that all 24 requests are open at once.
        for _ in 0..<24 {
            done.enter()
            Thread {
                statuses.append("\(HTTPClient.post(port, "/embed", json: body)?.status ?? 0) ")
                done.leave()
            }.start()
        }
        done.wait()
        let all = statuses.value.split(separator: " ").map { Int($0)! }
        XCTAssertTrue(all.contains(429), "\(all)")
        XCTAssertTrue(all.contains(200), "\(all)")
        XCTAssertTrue(all.allSatisfy { $0 == 200 || $0 == 429 }, "\(all)")
        XCTAssertEqual(HTTPClient.request(server.port, "GET", "/health")?.status, 200)
        let metrics = try XCTUnwrap(HTTPClient.request(server.port, "GET", "/metrics")).text
        XCTAssertTrue(metrics.contains(#"ckpt_requests_total{route="/embed",status="429"}"#), metrics)
    }

    /// SIGTERM while requests are running: every request the server accepted is answered, then it exits 0.
    func testSIGTERMAnswersEveryAcceptedRequestAndExitsZero() throws {
        let server = try ServerProcess(["--model", model, "--threads", "1"])
        let body = Data(#"{"inputs": \#(jsonList(Array(texts[0..<32])))}"#.utf8)
        // Open the connections and send the requests first, so that all are accepted before the signal.
        let connections = (0..<12).compactMap { _ in HTTPClient.connect(server.port) }
        XCTAssertEqual(connections.count, 12)
        for fd in connections {
            HTTPClient.send(fd, Data("POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        }
        usleep(300_000)
        kill(server.process.processIdentifier, SIGTERM)
        let replies = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: connections.count) { i in
            let status = HTTPClient.receive(connections[i])?.status ?? 0
            replies.withLock { $0.append(status) }
        }
        XCTAssertEqual(replies.withLock { $0 }, Array(repeating: 200, count: 12))
        server.process.waitUntilExit()
        XCTAssertEqual(server.process.terminationStatus, 0)
        XCTAssertNil(HTTPClient.connect(server.port))
    }
}
