import Access
import ArgumentParser
import Config
import Control
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `chassisctl first-admin`: the first administrator of a new installation (the package's
/// postinst runs it). It makes a random password, writes it where only root reads it, and leaves
/// the name and the password's hash in the state directory, where the active manager finds it
/// and adds the user to a chassis that has none. Run again, it does nothing.
struct FirstAdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "first-admin",
        abstract: "Prepare the first administrator of a new installation.",
        discussion: """
        Writes a random password to --password-file (mode 0600) and its hash to the state \
        directory; the active manager adds the user once the chassis runs, if the chassis has no \
        user yet. Does nothing when the chassis has users or the administrator is already prepared.

        Example: sudo chassisctl first-admin && sudo cat /etc/chassis/admin-password
        """)

    @OptionGroup var target: BladeOptions

    @Option(help: "The administrator's name.")
    var user = "admin"

    @Option(help: "Where the password is written, readable by root only.")
    var passwordFile = "/etc/chassis/admin-password"

    func run() throws {
        let config = try target.load()
        let pending = config.paths.firstAdministrator
        if FileManager.default.fileExists(atPath: pending) {
            print("the first administrator is prepared already (\(pending)); its password is in \(passwordFile)")
            return
        }
        if FileManager.default.fileExists(atPath: config.paths.configDatabase),
           let access = try? AccessCommands.reader(config).access(), !access.users.isEmpty {
            print("the chassis has users already: nothing to do")
            return
        }
        if let problem = ControlValidation.userNameProblem(user) { throw ValidationError(problem) }
        let password = Demo.randomPassword()
        let hash = try PasswordHash.make(password: password)
        guard FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(passwordFile)")
        }
        try FileManager.default.createDirectory(atPath: config.paths.stateDir, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: pending, contents: Data("\(user) \(hash)\n".utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(pending)")
        }
        // The engine reads and removes it: it belongs to the state directory's owner.
        var directory = stat()
        if stat(config.paths.stateDir, &directory) == 0 {
            _ = chown(pending, directory.st_uid, directory.st_gid)
        }
        print("""
        The first administrator is \(user); its password is in \(passwordFile) (read it with: sudo cat \(passwordFile)).
        The active manager adds it once the chassis runs. Change the password after the first login.
        """)
    }
}
