// The shop's two UI languages, English and Simplified Chinese. Chosen by ?lang=, then the cvm_lang
// cookie, then Accept-Language. Product data (titles, descriptions) stays as the shop entered it.
export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

const EN = {
  shop_name: 'cvm demo shop',
  home: 'Home',
  categories: 'Categories',
  search: 'Search',
  search_placeholder: 'Search products',
  cart: 'Cart',
  account: 'My account',
  login: 'Log in',
  logout: 'Log out',
  signup: 'Sign up',
  currency: 'Currency',
  language: 'Language',
  recommended_for_you: 'Recommended for you',
  popular_now: 'Popular right now',
  similar_items: 'Similar items',
  bought_together: 'Frequently bought together',
  add_to_cart: 'Add to cart',
  quantity: 'Quantity',
  in_stock: 'In stock',
  low_stock: 'Only {n} left',
  out_of_stock: 'Out of stock',
  not_listed: 'This product is not sold any more.',
  results_for: '{n} results for “{q}”',
  no_results: 'Nothing matches “{q}”. Try another word.',
  products_in: '{n} products',
  page_n: 'Page {n}',
  previous: 'Previous',
  next: 'Next',
  cart_empty: 'Your cart is empty.',
  remove: 'Remove',
  update: 'Update',
  subtotal: 'Subtotal',
  total: 'Total',
  charged_in: 'You will be charged {amount} (the shop’s currency); {display} is an estimate at today’s rate.',
  prices_note: 'Prices shown in {display}, charged in {base}.',
  checkout: 'Checkout',
  place_order: 'Place order',
  login_to_checkout: 'Log in or sign up to check out.',
  order: 'Order',
  orders: 'Orders',
  order_history: 'Order history',
  no_orders: 'No orders yet.',
  state: 'Status',
  state_created: 'Awaiting payment',
  state_paid: 'Paid',
  state_shipped: 'Shipped',
  state_delivered: 'Delivered',
  state_cancelled: 'Cancelled',
  state_refunded: 'Refunded',
  pay: 'Pay now (simulated)',
  pay_note: 'Payment is simulated: no card is charged.',
  cancel_order: 'Cancel order',
  placed_on: 'Placed {date}',
  email: 'Email',
  password: 'Password',
  name: 'Name',
  password_hint: 'At least 8 characters.',
  have_account: 'Already have an account?',
  no_account: 'New here?',
  welcome: 'Welcome, {name}',
  profile: 'Profile',
  save: 'Save',
  saved: 'Saved.',
  tier: 'Member tier',
  tier_bronze: 'Bronze',
  tier_silver: 'Silver',
  tier_gold: 'Gold',
  points: 'Points',
  points_note: '1 point per {base} 1 spent (net of refunds).',
  to_next_tier: '{amount} more to reach {tier}.',
  top_tier: 'You are in our top tier.',
  error_email_taken: 'An account with this email exists. Log in instead.',
  error_bad_login: 'Email or password is wrong.',
  error_too_many: 'Too many attempts. Try again in {n} seconds.',
  notice_check_login: 'If you already have an account with this email, log in with its password. Otherwise sign up with another email.',
  error_bad_email: 'Enter a valid email address.',
  error_short_password: 'The password must have at least 8 characters.',
  error_name: 'Enter your name (at most 100 characters).',
  error_not_found: 'Not found.',
  error_generic: 'Something went wrong.',
  error_stock: 'Not enough stock of {title}: {n} available.',
  back_to_shop: 'Back to the shop',
  view_cart: 'View cart',
  added_to_cart: 'Added to your cart.',
  tags: 'Tags',
  because: 'because you looked at similar things',
} as const;

export type MessageKey = keyof typeof EN;

const ZH: Record<MessageKey, string> = {
  shop_name: 'cvm 示例商店',
  home: '首页',
  categories: '商品分类',
  search: '搜索',
  search_placeholder: '搜索商品',
  cart: '购物车',
  account: '我的账户',
  login: '登录',
  logout: '退出登录',
  signup: '注册',
  currency: '货币',
  language: '语言',
  recommended_for_you: '为你推荐',
  popular_now: '当前热门',
  similar_items: '相似商品',
  bought_together: '经常一起购买',
  add_to_cart: '加入购物车',
  quantity: '数量',
  in_stock: '有货',
  low_stock: '仅剩 {n} 件',
  out_of_stock: '缺货',
  not_listed: '该商品已下架。',
  results_for: '“{q}” 的搜索结果：{n} 件',
  no_results: '没有与 “{q}” 匹配的商品，请换个关键词。',
  products_in: '{n} 件商品',
  page_n: '第 {n} 页',
  previous: '上一页',
  next: '下一页',
  cart_empty: '购物车是空的。',
  remove: '删除',
  update: '更新',
  subtotal: '小计',
  total: '合计',
  charged_in: '实际扣款 {amount}（商店结算货币）；{display} 为按今日汇率的估算。',
  prices_note: '价格以 {display} 显示，以 {base} 结算。',
  checkout: '结算',
  place_order: '提交订单',
  login_to_checkout: '请登录或注册后结算。',
  order: '订单',
  orders: '订单',
  order_history: '历史订单',
  no_orders: '还没有订单。',
  state: '状态',
  state_created: '待付款',
  state_paid: '已付款',
  state_shipped: '已发货',
  state_delivered: '已送达',
  state_cancelled: '已取消',
  state_refunded: '已退款',
  pay: '立即付款（模拟）',
  pay_note: '付款为模拟操作，不会扣取任何费用。',
  cancel_order: '取消订单',
  placed_on: '下单时间 {date}',
  email: '电子邮箱',
  password: '密码',
  name: '姓名',
  password_hint: '至少 8 个字符。',
  have_account: '已有账户？',
  no_account: '第一次来？',
  welcome: '欢迎，{name}',
  profile: '个人资料',
  save: '保存',
  saved: '已保存。',
  tier: '会员等级',
  tier_bronze: '铜牌',
  tier_silver: '银牌',
  tier_gold: '金牌',
  points: '积分',
  points_note: '每消费 {base} 1 得 1 积分（扣除退款）。',
  to_next_tier: '再消费 {amount} 即可升级为{tier}会员。',
  top_tier: '你已是最高等级会员。',
  error_email_taken: '该邮箱已注册，请直接登录。',
  error_bad_login: '邮箱或密码错误。',
  error_too_many: '尝试次数过多，请 {n} 秒后再试。',
  notice_check_login: '如果你已用该邮箱注册过账户，请用其密码登录；否则请换一个邮箱注册。',
  error_bad_email: '请输入有效的电子邮箱。',
  error_short_password: '密码至少需要 8 个字符。',
  error_name: '请输入姓名（最多 100 个字符）。',
  error_not_found: '页面不存在。',
  error_generic: '出错了。',
  error_stock: '{title} 库存不足：仅剩 {n} 件。',
  back_to_shop: '返回商店',
  view_cart: '查看购物车',
  added_to_cart: '已加入购物车。',
  tags: '标签',
  because: '根据你浏览过的相似商品',
};

const CATEGORY_ZH: Record<string, string> = {
  Home: '家居', Kitchen: '厨房', Decor: '装饰', Stationery: '文具', 'Toys & Games': '玩具与游戏', Fashion: '时尚',
  Accessories: '配饰', Beauty: '美妆', Garden: '园艺', Electronics: '电子产品', Audio: '音频设备',
};

const DICTS: Record<Lang, Record<MessageKey, string>> = { en: EN, 'zh-CN': ZH };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const dict = DICTS[lang];
  return (key, vars) => {
    let s = dict[key] ?? EN[key];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

/** A category level's name in the UI language (shop-defined names pass through). */
export function categoryLabel(level: string, lang: Lang): string {
  return lang === 'zh-CN' ? CATEGORY_ZH[level] ?? level : level;
}

export function parseLang(v: string | undefined | null): Lang | null {
  if (!v) return null;
  const s = v.trim().toLowerCase();
  if (s === 'en' || s.startsWith('en-')) return 'en';
  if (s === 'zh' || s === 'zh-cn' || s === 'zh-hans' || s.startsWith('zh-hans') || s === 'zh-sg') return 'zh-CN';
  return null;
}

/** Accept-Language → the best of our languages by q-value; English when none matches. */
export function langFromAcceptLanguage(header: string | undefined): Lang | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
      return { tag: (tag ?? '').trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => x.tag && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    // Any Chinese tag maps to Simplified Chinese, our only Chinese UI.
    const lang = parseLang(r.tag) ?? (r.tag.toLowerCase().startsWith('zh') ? 'zh-CN' : null);
    if (lang) return lang;
  }
  return null;
}
