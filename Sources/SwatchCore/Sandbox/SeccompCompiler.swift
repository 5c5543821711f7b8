import CSeccomp
import CSwatch
import Glibc
import SystemPackage

/// A compiled seccomp filter: classic BPF instructions (`struct sock_filter`,
/// 8 bytes each), ready for seccomp(SECCOMP_SET_MODE_FILTER) in the child.
package struct SeccompProgram: Hashable, Sendable {
    package var bytes: [UInt8]
    package var instructionCount: Int { bytes.count / 8 }
}

/// Turns a `SeccompFilter` into BPF with libseccomp (seccomp_init(3),
/// seccomp_rule_add(3), seccomp_export_bpf(3)), in swatchd before the clone:
/// the child only loads the result (Sources/CSwatch/shim.c). libseccomp is loaded on
/// the first call (Libseccomp.swift).
package enum SeccompCompiler {
    package static func compile(_ filter: SeccompFilter) throws(SandboxError) -> SeccompProgram {
        func fail(_ what: String, _ result: Int32) -> SandboxError {
            .seccomp(directive: filter.directive, what: what, Errno(rawValue: result < 0 ? -result : EINVAL))
        }
        let library: Libseccomp.Functions
        switch Libseccomp.loaded {
        case .success(let functions): library = functions
        case .failure(let error): throw .seccompLibrary(directive: filter.directive, message: error.message)
        }
        guard let context = library.initialize(action(filter.defaultAction)) else {
            throw .seccomp(directive: filter.directive, what: "seccomp_init", Errno(rawValue: ENOMEM))
        }
        defer { library.release(context) }
        // Another architecture's system calls (i386, x32) kill the process (SeccompFilters).
        var result = library.setAttribute(context, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)
        guard result == 0 else { throw fail("seccomp_attr_set", result) }
        // The child sets no_new_privs itself when it needs it (SandboxPlan).
        result = library.setAttribute(context, SCMP_FLTATR_CTL_NNP, 0)
        guard result == 0 else { throw fail("seccomp_attr_set", result) }
        for rule in filter.rules where rule.action != filter.defaultAction {
            let number = library.resolveName(rule.systemCall)
            // A name this architecture lacks (mmap2, socketcall on x86-64): nothing to filter,
            // as systemd skips it.
            guard number != __NR_SCMP_ERROR else { continue }
            var comparisons = rule.conditions.map { condition -> scmp_arg_cmp in
                switch condition.comparison {
                case .equal: scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_EQ, datum_a: condition.value, datum_b: 0)
                case .notEqual: scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_NE, datum_a: condition.value, datum_b: 0)
                case .greaterOrEqual:
                    scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_GE, datum_a: condition.value, datum_b: 0)
                case .maskedEqual(let mask):
                    scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: condition.value)
                }
            }
            result = comparisons.withUnsafeMutableBufferPointer { buffer in
                library.addRule(context, action(rule.action), number, UInt32(buffer.count), buffer.baseAddress)
            }
            guard result == 0 else { throw fail("seccomp_rule_add(\(rule.systemCall))", result) }
        }
        // seccomp_export_bpf writes to an fd (libseccomp 2.5 has no in-memory export): a memfd.
        let fd = swatch_memfd_create("swatchd-seccomp", 1 /* MFD_CLOEXEC */)
        guard fd >= 0 else { throw .seccomp(directive: filter.directive, what: "memfd_create", Errno(rawValue: errno)) }
        defer { close(fd) }
        result = library.exportBPF(context, fd)
        guard result == 0 else { throw fail("seccomp_export_bpf", result) }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, size % 8 == 0 else { throw fail("seccomp_export_bpf", -EIO) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read == size else { throw fail("read", -EIO) }
        return SeccompProgram(bytes: bytes)
    }

    static func action(_ action: SeccompFilter.Action) -> UInt32 {
        switch action {
        case .allow: SCMP_ACT_ALLOW
        // SCMP_ACT_ERRNO(x) is a macro: SECCOMP_RET_ERRNO (0x00050000) | (x & 0xffff).
        case .errno(let number): 0x0005_0000 | (UInt32(number) & 0xFFFF)
        case .killProcess: SCMP_ACT_KILL_PROCESS
        case .log: SCMP_ACT_LOG
        }
    }
}
