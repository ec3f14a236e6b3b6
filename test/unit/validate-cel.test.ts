/**
 * src/api/cel.ts: the Kubernetes network CEL functions the validator provides to the CRD's
 * rules. The expected values are what the Kubernetes 1.34 CEL library (k8s.io/apiserver
 * pkg/cel/library, netip-based) returns for the same expressions; 'error' means it fails.
 */
import { compileRule, evaluateRule, kubernetesCIDR, kubernetesIP } from '../../src/api/cel.js';

const kubernetesAnswers: [expression: string, result: boolean | 'error'][] = [
  ["isCIDR('10.0.0.0/8')", true],
  ["isCIDR('10.0.0.1/8')", true],
  ["isCIDR('0.0.0.0/0')", true],
  ["isCIDR('::/0')", true],
  ["isCIDR('fd00:ec2::254/128')", true],
  ["isCIDR('FD00:EC2::254/128')", true],
  ["isCIDR('1:2:3:4:5:6:7::/64')", true],
  ["isCIDR('::1.2.3.4/128')", true],
  ["isCIDR('1:2:3:4:5:6:1.2.3.4/128')", true],
  ["isCIDR('::ffff:1.2.3.4/128')", false],
  ["isCIDR('::ffff:102:304/128')", false],
  ["isCIDR('::ffff:0:0/96')", false],
  ["isCIDR('::fffe:0:0/96')", true],
  ["isCIDR('10.0.0.0/08')", false],
  ["isCIDR('10.0.0.0/+8')", false],
  ["isCIDR('10.0.0.0/-1')", false],
  ["isCIDR('10.0.0.0')", false],
  ["isCIDR('010.0.0.0/8')", false],
  ["isCIDR('fe80::1%eth0/64')", false],
  ["isCIDR('1.2.3.4/33')", false],
  ["isCIDR('::/129')", false],
  ["isCIDR(' 10.0.0.0/8')", false],
  ["isCIDR('10.0.0.0/8 ')", false],
  ["isCIDR('10.0.0.0/8/8')", false],
  ["isCIDR('1.2.3/8')", false],
  ["isCIDR('1::2::3/64')", false],
  ["isCIDR('1:2:3:4:5:6:7:8:9/64')", false],
  ["isCIDR('12345::/16')", false],
  ["isCIDR('::1.2.3.04/128')", false],
  ["isCIDR('')", false],
  ["isCIDR('/8')", false],
  ["isIP('1.2.3.4')", true],
  ["isIP('::ffff:1.2.3.4')", false],
  ["isIP('::1')", true],
  ["isIP('1.2.3.4/32')", false],
  ["cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", true],
  ["cidr('10.0.0.0/8').containsCIDR(cidr('10.0.0.0/8'))", true],
  ["cidr('10.0.0.0/8').containsCIDR('10.0.0.0/7')", false],
  ["cidr('10.0.0.0/8').containsCIDR('fd00::/8')", false],
  ["cidr('0.0.0.0/0').containsCIDR('::/0')", false],
  ["cidr('10.1.2.3/8').containsCIDR('10.200.0.0/16')", true],
  ["cidr('10.0.0.0/8').containsCIDR('bad')", 'error'],
  ["cidr('bad').prefixLength() == 0", 'error'],
  ["cidr('10.1.2.3/8').prefixLength() == 8", true],
  ["cidr('10.0.0.0/8').containsIP('10.255.255.255')", true],
  ["cidr('10.0.0.0/8').containsIP(ip('11.0.0.0'))", false],
  ["cidr('10.0.0.0/8').containsIP('::ffff:10.0.0.1')", 'error'],
  ["cidr('0.0.0.0/0').containsIP(cidr('8.8.8.0/24').ip())", true],
  ["cidr('0.0.0.0/0').containsIP(cidr('2606:4700::/32').ip())", false],
  ["cidr('2000::/3').containsIP(cidr('3fff:ffff::1/128').ip())", true],
  ["cidr('2000::/3').containsIP(cidr('4000::/3').ip())", false],
  ["cidr('2000::/3').containsIP(cidr('8.8.8.0/24').ip())", false],
  ["cidr('2000::/3').containsIP(cidr('2000::1/2').ip()) && cidr('2000::1/2').prefixLength() > 3", false],
  ["string(cidr('10.1.2.3/8')) == '10.1.2.3/8'", true],
  ["string(cidr('10.1.2.3/8').masked()) == '10.0.0.0/8'", true],
  ["string(cidr('10.1.2.3/8').ip()) == '10.1.2.3'", true],
  ["string(cidr('2001:DB8::1/32')) == '2001:db8::1/32'", true],
  ["string(cidr('2001:DB8::1/32').masked()) == '2001:db8::/32'", true],
  ["cidr('::1/128').ip().family() == 6", true],
  ["cidr('1.2.3.4/32').ip().family() == 4", true],
];

describe('the CEL network library', () => {
  test.each(kubernetesAnswers)('evaluates %s as Kubernetes does (%s)', (expression, result) => {
    if (result === 'error') expect(() => evaluateRule(expression, null)).toThrow();
    else expect(evaluateRule(expression, null)).toBe(result);
  });

  test('keeps the host bits of a CIDR, as Kubernetes does', () => {
    expect(kubernetesCIDR('10.1.2.3/8')).toMatchObject({ prefix: 8, ip: { family: 4, value: 0x0a010203n } });
  });

  test('refuses IPv4-mapped IPv6 addresses but not other IPv6 addresses', () => {
    expect(kubernetesIP('::ffff:10.0.0.1')).toBeNull();
    expect(kubernetesIP('::fffe:10.0.0.1')).not.toBeNull();
  });
});

describe('compileRule', () => {
  test('binds self as a dynamic value', () => {
    expect(evaluateRule('self.a.size() == 2', { a: ['x', 'y'] })).toBe(true);
  });

  test('sees integers as CEL ints when given bigints', () => {
    expect(evaluateRule('type(self) == int && self + 1 == 2', 1n)).toBe(true);
  });

  test('rejects a rule that does not parse', () => {
    expect(() => compileRule('self.a ==')).toThrow();
  });

  test('rejects a rule that is not a boolean', () => {
    expect(() => compileRule("'a' + 'b'")).toThrow(/not bool/);
  });

  test('rejects a rule with a function Kubernetes does not offer here', () => {
    expect(() => compileRule('isHostname(self)')).toThrow();
  });

  test('rejects a rule that reads oldSelf, which offline validation never has', () => {
    expect(() => compileRule('self == oldSelf')).toThrow();
  });
});
